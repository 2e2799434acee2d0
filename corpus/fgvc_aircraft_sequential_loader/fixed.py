# lossdoctor-expect:
# source: https://github.com/pytorch/vision/issues/7818
# fix: DataLoader(train_set, batch_size=32, shuffle=True)
# ruff: noqa: E501
"""A small CNN fine-grained classifier trained on an FGVCAircraft-like dataset whose samples are
stored class after class; fixed: the training DataLoader shuffles."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class SequentialAircraft(Dataset):
    def __init__(self, n_per_class, templates, noise=0.6):
        self.labels = torch.arange(10).repeat_interleave(n_per_class)
        self.images = templates[self.labels] + noise * torch.randn(len(self.labels), 3, 24, 24)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]


templates = F.interpolate(torch.rand(10, 3, 6, 6), size=(24, 24), mode="bilinear", align_corners=False)
train_set, val_set = SequentialAircraft(80, templates), SequentialAircraft(20, templates)
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=200)

model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 6 * 6, 10),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        x, y = next(iter(val_loader))
        logits = model(x)
    print(f"epoch {epoch} val loss {criterion(logits, y).item():.4f} val acc {(logits.argmax(1) == y).float().mean():.3f}")
