# lossdoctor-expect: label_range
# source: https://github.com/MontaEllis/Pytorch-Medical-Segmentation/issues/8
# answer: BCEWithLogitsLoss goes negative because the labels are not 0/1: the masks are PNGs read as 0/255; normalize them when reading
# ruff: noqa: E501
"""2D binary segmentation (the repository's 2D mode) with a small conv net and
BCEWithLogitsLoss; the label masks come from 8-bit PNGs and keep their 0/255 values."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_scans(n, size=32):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centers = torch.randint(8, size - 8, (n, 2, 1, 1))
    radius = torch.randint(3, 7, (n, 1, 1))
    inside = ((yy - centers[:, 0]) ** 2 + (xx - centers[:, 1]) ** 2) < radius ** 2
    scans = 0.6 * inside.float() + 0.4 * torch.randn(n, size, size)
    masks_png = inside.to(torch.uint8) * 255
    return scans.unsqueeze(1), masks_png.unsqueeze(1)


scans, masks_png = make_scans(300)
labels = masks_png.float()
train_loader = DataLoader(TensorDataset(scans[:240], labels[:240]), batch_size=8, shuffle=True)
val_loader = DataLoader(TensorDataset(scans[240:], labels[240:]), batch_size=60)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
    nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
    nn.Conv2d(16, 1, 1),
)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(6):
    model.train()
    for scan, label in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(scan), label)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        scan, label = next(iter(val_loader))
        val_loss = criterion(model(scan), label).item()
    print(f"epoch {epoch} train loss {loss.item():.4f} val loss {val_loss:.4f}")
