# lossdoctor-expect:
# source: https://github.com/Lornatang/SRGAN-PyTorch/issues/1
# fix: scheduler.step() once per epoch, after the batch loop
# ruff: noqa: E501
"""The SRResNet stage of an SRGAN (residual blocks with PReLU, a pixel-shuffle upsampler) trained
with MSE to upscale images 2x, with the repository's `StepLR(step_size=epochs // 2, gamma=0.1)`
stepped once per epoch (fixed; the original stepped it inside the batch loop). Synthetic high-resolution images are sums of smooth random
waves; the low-resolution inputs are their 2x average-pooled copies."""

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_images(n, size=24):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    images = torch.zeros(n, 1, size, size)
    for _ in range(4):
        fy, fx, phase = torch.rand(n, 1, 1) * 8, torch.rand(n, 1, 1) * 8, torch.rand(n, 1, 1) * 2 * math.pi
        images[:, 0] += torch.sin(2 * math.pi * (fy * yy + fx * xx) + phase)
    hr = images / 4
    lr = F.avg_pool2d(hr, 2)
    return lr, hr


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(self.prelu(self.conv1(x)))


class SRResNet(nn.Module):
    def __init__(self, channels=16, blocks=2):
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(1, channels, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)])
        self.upsample = nn.Sequential(nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())
        self.tail = nn.Conv2d(channels, 1, 9, padding=4)

    def forward(self, x):
        features = self.head(x)
        return self.tail(self.upsample(features + self.body(features)))


lr_images, hr_images = make_images(300)
train_loader = DataLoader(TensorDataset(lr_images[:250], hr_images[:250]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(lr_images[250:], hr_images[250:]), batch_size=50)

epochs = 8
model = SRResNet()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=epochs // 2, gamma=0.1)

for epoch in range(epochs):
    model.train()
    for lr, hr in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(lr), hr)
        loss.backward()
        optimizer.step()
    scheduler.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(lr), hr).item() for lr, hr in val_loader) / len(val_loader)
    print(f"epoch {epoch} mse {loss.item():.5f} val mse {val_loss:.5f} lr {optimizer.param_groups[0]['lr']:.2e}")
