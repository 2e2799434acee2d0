# lossdoctor-expect:
# source: https://github.com/ClementPinard/SfmLearner-Pytorch/issues/5
# fix: optimizer.step() at every step, then scheduler.step() when a scheduler is given
# ruff: noqa: E501
"""A disparity network in the style of SfmLearner's DispNet (a small conv encoder-decoder with a
sigmoid disparity output) trained on a photometric-style L1 loss, with the asker's added
`--scheduler step` option: fixed: the loop calls `optimizer.step()` at every step and
`scheduler.step()` after it. Synthetic scenes: a depth plane per image, rendered as a texture whose
brightness falls with depth; the target is the scene's disparity map."""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
parser = argparse.ArgumentParser()
parser.add_argument("--scheduler", default="step")
parser.add_argument("--lr", type=float, default=2e-4)
args = parser.parse_args()


def make_scenes(n, size=32):
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    slope = torch.randn(n, 2, 1, 1) * 0.3
    depth = 2.0 + slope[:, :1] * yy + slope[:, 1:] * xx + 0.5 * torch.rand(n, 1, 1, 1)
    texture = 0.5 + 0.2 * torch.randn(n, 1, size, size)
    images = texture / depth
    return images, 1.0 / depth


class DispNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1))

    def forward(self, x):
        return torch.sigmoid(self.decoder(self.encoder(x)))


images, disparity = make_scenes(480)
train_loader = DataLoader(TensorDataset(images[:400], disparity[:400]), batch_size=16, shuffle=True)
val_loader = DataLoader(TensorDataset(images[400:], disparity[400:]), batch_size=40)

model = DispNet()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=200, gamma=0.1) if args.scheduler == "step" else None

for epoch in range(8):
    model.train()
    for image, target in train_loader:
        optimizer.zero_grad()
        loss = (model(image) - target).abs().mean()
        loss.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum((model(x) - y).abs().mean().item() for x, y in val_loader) / len(val_loader)
    print(f"epoch {epoch} loss {loss.item():.4f} val loss {val_loss:.4f}")
