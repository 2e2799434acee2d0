# lossdoctor-expect:
# source: https://github.com/bubbliiiing/efficientdet-pytorch/issues/37
# fix: put every parameter the groups missed (here the fusion weights w1) into the optimizer
# ruff: noqa: E501
"""A BiFPN-style fast normalized fusion (learnable w1 = ones(2), relu, w / (sum w + eps)) ported
into a detector whose optimizer is built from yolo-style parameter groups: BatchNorm weights,
other `.weight`s with weight decay, `.bias`es; fixed: plus every parameter the groups missed."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_images(n):
    labels = torch.randint(0, 4, (n,))
    images = 0.5 * torch.randn(n, 1, 16, 16)
    rows = 2 + 3 * labels
    for i in range(n):
        images[i, 0, rows[i]:rows[i] + 3, 4:12] += 1.5
    return images, labels


class FastFusion(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.w1 = nn.Parameter(torch.ones(2))
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, p_fine, p_coarse):
        w = torch.relu(self.w1)
        w = w / (torch.sum(w, dim=0) + 1e-4)
        return torch.relu(self.bn(self.conv(w[0] * p_fine + w[1] * p_coarse)))


class TinyDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.fine = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.coarse = nn.Sequential(nn.Conv2d(1, 16, 7, padding=3, dilation=1), nn.BatchNorm2d(16), nn.ReLU(),
                                    nn.AvgPool2d(4), nn.Upsample(scale_factor=4))
        self.fusion = FastFusion(16)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d((4, 1)), nn.Flatten(), nn.Linear(64, 4))

    def forward(self, x):
        return self.head(self.fusion(self.fine(x), self.coarse(x)))


images, labels = make_images(900)
train_loader = DataLoader(TensorDataset(images[:750], labels[:750]), batch_size=32, shuffle=True)
val_x, val_y = images[750:], labels[750:]

model = TinyDetector()
pg0, pg1, pg2 = [], [], []
for k, v in model.named_modules():
    if hasattr(v, "bias") and isinstance(v.bias, nn.Parameter):
        pg2.append(v.bias)
    if isinstance(v, nn.BatchNorm2d) or "bn" in k:
        pg0.append(v.weight)
    elif hasattr(v, "weight") and isinstance(v.weight, nn.Parameter):
        pg1.append(v.weight)
optimizer = torch.optim.Adam(pg0, lr=1e-3)
optimizer.add_param_group({"params": pg1, "weight_decay": 5e-4})
optimizer.add_param_group({"params": pg2})
grouped = {id(p) for p in pg0 + pg1 + pg2}
optimizer.add_param_group({"params": [p for p in model.parameters() if id(p) not in grouped]})
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(val_x), val_y).item()
    print(f"epoch {epoch} val loss {val_loss:.4f} fusion w1 {model.fusion.w1.data.tolist()}")
