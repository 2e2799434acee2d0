# lossdoctor-expect: train_val_shift
"""A small CNN searched-cell style classifier on the poster's own image folder, in the idiom of
khanrc/pt.darts' search.py (https://github.com/khanrc/pt.darts/issues/24): the training set is
split in two halves with SubsetRandomSampler(indices[:split]) and
SubsetRandomSampler(indices[split:]), SGD with momentum, cross-entropy, validation every epoch.
Bug (the answer in the thread): on the poster's own data, stored class by class, the indices are
not shuffled before the split, so the validation half holds other classes than the training
half: the training loss falls while the validation loss stays put and prec@1 stays at zero.
The fix: shuffle the indices (seeded) before splitting.
Synthetic 12x12 images of 6 classes, stored sorted by class."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.sampler import SubsetRandomSampler

torch.manual_seed(0)
templates = torch.randn(6, 3, 12, 12)
labels = torch.arange(6).repeat_interleave(80)  # an ImageFolder lists its files class by class
images = templates[labels] + 1.5 * torch.randn(len(labels), 3, 12, 12)
train_data = TensorDataset(images, labels)

n_train = len(train_data)
split = n_train // 2
indices = list(range(n_train))
train_sampler = SubsetRandomSampler(indices[:split])
valid_sampler = SubsetRandomSampler(indices[split:])
train_loader = DataLoader(train_data, batch_size=32, sampler=train_sampler)
valid_loader = DataLoader(train_data, batch_size=32, sampler=valid_sampler)

model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 6))
criterion = nn.CrossEntropyLoss()
w_optim = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)

for epoch in range(6):
    model.train()
    losses = []
    for X, y in train_loader:
        w_optim.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        w_optim.step()
        losses.append(loss.item())
    model.eval()
    val_losses, correct, total = [], 0, 0
    with torch.no_grad():
        for X, y in valid_loader:
            logits = model(X)
            val_losses.append(criterion(logits, y).item())
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    print(f"epoch {epoch + 1} loss {sum(losses) / len(losses):.4f} "
          f"val_loss {sum(val_losses) / len(val_losses):.4f} prec@1 {correct / total:.3f}")
