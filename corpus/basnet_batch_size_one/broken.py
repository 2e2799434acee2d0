# lossdoctor-expect: batch_size
# source: https://github.com/xuebinqin/BASNet/issues/42
# answer: training with batch size 1 performs far worse than batch size 8 because batch normalization needs larger batches; use a normalization that does not depend on the batch (group, instance or layer norm)
# ruff: noqa: E501
"""A small BASNet-like saliency network (conv encoder-decoder with BatchNorm, sigmoid output,
BCE loss, Adam lr 1e-3) trained with batch size 1 on synthetic images with one salient blob."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_images(n, size=24):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centers = torch.randint(7, size - 7, (n, 2, 1, 1))
    radius = torch.randint(3, 6, (n, 1, 1))
    mask = (((yy - centers[:, 0]) ** 2 + (xx - centers[:, 1]) ** 2) < radius ** 2).float()
    brightness = 0.5 + torch.rand(n, 1, 1)
    image = brightness * mask + 0.3 * torch.randn(n, size, size) + torch.rand(n, 1, 1)
    return image.unsqueeze(1), mask.unsqueeze(1)


def block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


images, masks = make_images(200)
train_loader = DataLoader(TensorDataset(images[:150], masks[:150]), batch_size=1, shuffle=True)
val_x, val_y = images[150:], masks[150:]

model = nn.Sequential(block(1, 16), nn.MaxPool2d(2), block(16, 32), nn.Upsample(scale_factor=2),
                      block(32, 16), nn.Conv2d(16, 1, 1), nn.Sigmoid())
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
bce = nn.BCELoss()

for epoch in range(4):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = bce(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = bce(model(val_x), val_y).item()
    print(f"epoch {epoch} val loss {val_loss:.4f}")
