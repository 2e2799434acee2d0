# lossdoctor-expect:
# source: https://github.com/zalandoresearch/fashion-mnist/pull/5
# fix: shuffle the rows once before cutting the validation set, as the re-released files are
# ruff: noqa: E501
"""Fashion-MNIST read into arrays; fixed: the rows are shuffled once (as in the re-released
files) before the last 500 are cut off for validation and batched in file order."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

templates = F.interpolate(torch.rand(10, 1, 7, 7), size=(28, 28), mode="bilinear", align_corners=False)
labels = torch.randint(0, 10, (3500,)).sort().values
images = (templates[labels] + 0.3 * torch.randn(3500, 1, 28, 28)).clamp(0, 1)
shuffled = torch.randperm(3500)
images, labels = images[shuffled], labels[shuffled]

train_images, train_labels = images[:3000], labels[:3000]
val_images, val_labels = images[3000:], labels[3000:]
train_loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=50)

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(val_images)
        val_loss = criterion(logits, val_labels).item()
        val_acc = (logits.argmax(1) == val_labels).float().mean().item()
    print(f"epoch {epoch} val loss {val_loss:.4f} val acc {val_acc:.3f} val classes {val_labels.unique().tolist()}")
