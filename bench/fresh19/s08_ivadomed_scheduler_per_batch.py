# lossdoctor-expect: lr_schedule
"""Binary lesion segmentation in the style of ivadomed's training loop (a small U-Net-like
network, a soft Dice loss, Adam, a learning-rate scheduler meant per epoch, a validation pass
with the Dice loss each epoch).
Bug (ivadomed/ivadomed#55, 'Fix scheduler updating': 'Scheduler was incorrectly stepped in the
batch loop instead of in the epoch loop ... causing the LR to be updated after each batch instead
of after each epoch'): scheduler.step() sits in the batch loop. The pull request does not show
the scheduler's kind; here it is ExponentialLR(gamma=0.9), a decay meant per epoch."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def make_slices(n, g):
    yy, xx = torch.meshgrid(torch.arange(32.), torch.arange(32.), indexing="ij")
    cy, cx = torch.randint(8, 24, (2, n, 1, 1), generator=g).float()
    radius = torch.randint(3, 7, (n, 1, 1), generator=g).float()
    masks = (((yy - cy) ** 2 + (xx - cx) ** 2) < radius ** 2).float().unsqueeze(1)
    images = 0.8 * masks + 0.5 * torch.randn(n, 1, 32, 32, generator=g)
    return images, masks


class MiniUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.out = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 1, 1))

    def forward(self, x):
        skip = self.down(x)
        x = self.up(self.bottom(F.max_pool2d(skip, 2)))
        return torch.sigmoid(self.out(torch.cat([x, skip], dim=1)))


def dice_loss(prediction, target, smooth=1.0):
    intersection = (prediction * target).sum()
    return 1 - (2 * intersection + smooth) / (prediction.sum() + target.sum() + smooth)


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    train_loader = DataLoader(TensorDataset(*make_slices(640, g)), batch_size=16, shuffle=True)
    val_loader = DataLoader(TensorDataset(*make_slices(160, g)), batch_size=32)
    model = MiniUNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    for epoch in range(1, 11):
        model.train()
        train_loss_total = 0.0
        for input_samples, gt_samples in train_loader:
            preds = model(input_samples)
            loss = dice_loss(preds, gt_samples)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            train_loss_total += loss.item()
        model.eval()
        with torch.no_grad():
            val_loss_total = sum(dice_loss(model(x), y).item() for x, y in val_loader)
        print(f"Epoch {epoch}: lr {scheduler.get_last_lr()[0]:.2e} "
              f"training loss {train_loss_total / len(train_loader):.4f} "
              f"validation loss {val_loss_total / len(val_loader):.4f}")


if __name__ == "__main__":
    main()
