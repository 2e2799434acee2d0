"""Six kinds of leaf pictures (32x32), a small ReLU CNN, multi-label BCE, Adam: the Dataset takes
each split's images from the shuffled table but its labels from the table in file order, so both
splits pair each image with another row's label. ``--fixed`` takes the labels from the split."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

FIXED = "--fixed" in sys.argv
torch.manual_seed(1)
rng = np.random.default_rng(1)
KINDS = 6
rows = []
for _ in range(720):
    kind = int(rng.integers(0, KINDS))
    img = rng.normal(0.3, 0.05, size=(3, 32, 32)).astype(np.float32)
    for _spot in range(5):
        r, c = rng.integers(3, 29, size=2)
        img[kind % 3, r - 3:r + 3, c - 3:c + 3] += 1.0
    if kind >= 3:
        img[:, ::kind - 1, :] += 0.6
    rows.append((img, kind))


class Leaves(Dataset):
    def __init__(self, table, train):
        labels_in_file_order = [kind for _, kind in table]
        order = np.random.default_rng(42).permutation(len(table))
        shuffled = [table[i] for i in order]
        cut = int(0.8 * len(table))
        split = shuffled[:cut] if train else shuffled[cut:]
        self.images = [img for img, _ in split]
        self.labels = [kind for _, kind in split] if FIXED else labels_in_file_order

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        target = torch.zeros(KINDS)
        target[self.labels[i]] = 1.0
        return torch.from_numpy(self.images[i]), target


train_loader = DataLoader(Leaves(rows, True), batch_size=32, shuffle=True)
val_loader = DataLoader(Leaves(rows, False), batch_size=32)
model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(64, KINDS))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(8):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(F.binary_cross_entropy_with_logits(model(x), y, reduction="sum").item()
                  for x, y in val_loader) / (len(val_loader.dataset) * KINDS)
    print(f"epoch {epoch}: val_loss {val:.4f}")
