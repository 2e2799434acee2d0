# lossdoctor-expect:
# source: https://github.com/xingyizhou/CenterNet/issues/706
# fix: SGD at a learning rate suited to it, 0.02, as the author suggests
# ruff: noqa: E501
"""A small CenterNet-style detector (conv backbone, sigmoid center heatmap head, CenterNet's
penalty-reduced focal loss) trained with SGD with momentum; fixed: at a learning rate suited to SGD, on synthetic images of bright squares."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_images(n, size=24):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    images, heatmaps = 0.2 * torch.randn(n, 1, size, size), torch.zeros(n, 1, size, size)
    centers = torch.randint(3, size - 3, (n, 2, 2))
    for i in range(n):
        for cy, cx in centers[i].tolist():
            images[i, 0, cy - 2:cy + 3, cx - 2:cx + 3] += 1.0
            gaussian = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.5 ** 2))
            heatmaps[i, 0] = torch.maximum(heatmaps[i, 0], gaussian)
    return images, heatmaps


def focal_loss(pred, gt):
    pos, neg = gt.eq(1).float(), gt.lt(1).float()
    pos_loss = (torch.log(pred) * torch.pow(1 - pred, 2) * pos).sum()
    neg_loss = (torch.log(1 - pred) * torch.pow(pred, 2) * torch.pow(1 - gt, 4) * neg).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


images, heatmaps = make_images(480)
train_loader = DataLoader(TensorDataset(images[:400], heatmaps[:400]), batch_size=16, shuffle=True)
val_x, val_y = images[400:], heatmaps[400:]

model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                      nn.Conv2d(32, 1, 1))
model[-1].bias.data.fill_(-2.19)
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)


def heatmap(x):
    return torch.sigmoid(model(x)).clamp(1e-4, 1 - 1e-4)


for epoch in range(8):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = focal_loss(heatmap(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = focal_loss(heatmap(val_x), val_y).item()
    print(f"epoch {epoch} hm_loss {loss.item():.4f} val hm_loss {val_loss:.4f}")
