# lossdoctor-expect:
"""s01 fixed as the thread answered (https://github.com/milesial/Pytorch-UNet/issues/78):
the masks are divided by 255, so BCELoss gets targets in 0-1."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
SIZE = 32


def make_pair():
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cy, cx, r = rng.integers(8, 24), rng.integers(8, 24), rng.integers(4, 9)
    mask = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8) * 255
    img = (mask / 255.0) * 0.6 + rng.normal(0.2, 0.15, (SIZE, SIZE))
    return img.astype(np.float32), mask


def load(n):
    pairs = [make_pair() for _ in range(n)]
    imgs = torch.tensor(np.stack([p[0] for p in pairs]))[:, None]
    masks = torch.tensor(np.stack([p[1] for p in pairs]).astype(np.float32))[:, None]
    return imgs, masks / 255  # the answer: masks 0-1


class double_conv(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.inc = double_conv(n_channels, 8)
        self.down1 = double_conv(8, 16)
        self.down2 = double_conv(16, 32)
        self.up1 = double_conv(32 + 16, 16)
        self.up2 = double_conv(16 + 8, 8)
        self.outc = nn.Conv2d(8, n_classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(F.max_pool2d(x1, 2))
        x3 = self.down2(F.max_pool2d(x2, 2))
        x = self.up1(torch.cat([F.interpolate(x3, scale_factor=2), x2], 1))
        x = self.up2(torch.cat([F.interpolate(x, scale_factor=2), x1], 1))
        return self.outc(x)


def dice_coeff(pred, target):
    inter = (pred * target).sum()
    return (2 * inter + 1e-4) / (pred.sum() + target.sum() + 1e-4)


def eval_net(net, imgs, masks, criterion):
    net.eval()
    with torch.no_grad():
        pred = net(imgs)
        loss = criterion(pred.view(-1), masks.view(-1)).item()
        dice = dice_coeff((torch.sigmoid(pred) > 0.5).float(), masks).item()
    return loss, dice


train_imgs, train_masks = load(96)
val_imgs, val_masks = load(24)
net = UNet(n_channels=1, n_classes=1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0005)
criterion = nn.BCEWithLogitsLoss()
batch_size = 8
for epoch in range(6):
    net.train()
    epoch_loss = 0
    perm = torch.randperm(len(train_imgs))
    for i in range(0, len(perm), batch_size):
        idx = perm[i:i + batch_size]
        imgs, true_masks = train_imgs[idx], train_masks[idx]
        masks_pred = net(imgs)
        masks_probs_flat = masks_pred.view(-1)
        true_masks_flat = true_masks.view(-1)
        loss = criterion(masks_probs_flat, true_masks_flat)
        epoch_loss += loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    val_loss, val_dice = eval_net(net, val_imgs, val_masks, criterion)
    print(f"Epoch {epoch + 1} finished ! Loss: {epoch_loss / (len(perm) / batch_size):.4f}  "
          f"val_loss: {val_loss:.4f}  Validation Dice Coeff: {val_dice:.4f}")
