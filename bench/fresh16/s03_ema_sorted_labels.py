# lossdoctor-expect: data_pipeline
"""MLP classifier validated through an exponential-moving-average copy of its weights.
Bug: the rows are grouped by class (read from per-class files) and the DataLoader
does not shuffle."""
import copy

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

np.random.seed(3)
torch.manual_seed(3)
C, PER = 4, 700
centers = np.random.randn(C, 10) * 1.2
parts = [(centers[c] + np.random.randn(PER, 10), np.full(PER, c)) for c in range(C)]
X = np.concatenate([p[0] for p in parts]).astype(np.float32)
Y = np.concatenate([p[1] for p in parts]).astype(np.int64)
val_idx = np.random.rand(len(X)) < 0.2
train_ds = TensorDataset(torch.tensor(X[~val_idx]), torch.tensor(Y[~val_idx]))
xv, yv = torch.tensor(X[val_idx]), torch.tensor(Y[val_idx])
loader = DataLoader(train_ds, batch_size=50, shuffle=False)

model = nn.Sequential(nn.Linear(10, 64), nn.GELU(), nn.Linear(64, C))
ema = copy.deepcopy(model)
for p in ema.parameters():
    p.requires_grad_(False)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()


@torch.no_grad()
def ema_update(decay=0.98):
    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
        pe.mul_(decay).add_(pm, alpha=1 - decay)


for epoch in range(10):
    tot, n = 0.0, 0
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema_update()
        tot += loss.item() * len(xb)
        n += len(xb)
    with torch.no_grad():
        val = loss_fn(ema(xv), yv).item()
    print("epoch", epoch, "train_loss", round(tot / n, 4), "val_loss (ema)", round(val, 4))
