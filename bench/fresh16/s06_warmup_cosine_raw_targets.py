# lossdoctor-expect: unscaled_targets
"""Apartment-rent regression, linear warmup + cosine decay (LambdaLR, stepped per batch).
Bug: the rent target is in raw dollars (mean ~2,400), never standardized; inputs are."""
import math

import numpy as np
import torch
import torch.nn as nn

rs = np.random.RandomState(6)
torch.manual_seed(6)
n = 2400
sqft = rs.uniform(300, 1800, n)
rooms = rs.randint(1, 5, n)
dist = rs.uniform(0.5, 20, n)
floor = rs.randint(0, 20, n)
rent = 600 + 1.4 * sqft + 150 * rooms - 45 * dist + 12 * floor + rs.normal(0, 120, n)
feats = np.stack([sqft, rooms, dist, floor], 1)
feats = (feats - feats[:1900].mean(0)) / feats[:1900].std(0)
X = torch.tensor(feats, dtype=torch.float32)
Y = torch.tensor(rent, dtype=torch.float32).unsqueeze(1)

model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
EPOCHS, BS = 10, 32
steps = EPOCHS * math.ceil(1900 / BS)
warm = steps // 10


def lr_lambda(s):
    if s < warm:
        return (s + 1) / warm
    return 0.5 * (1 + math.cos(math.pi * (s - warm) / (steps - warm)))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
mse = nn.MSELoss()
for epoch in range(EPOCHS):
    model.train()
    idx = torch.randperm(1900)
    tot = 0.0
    for k in range(0, 1900, BS):
        b = idx[k:k + BS]
        loss = mse(model(X[b]), Y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tot += loss.item() * len(b)
    model.eval()
    with torch.no_grad():
        val = mse(model(X[1900:]), Y[1900:]).item()
    print(f"Epoch {epoch + 1}: train_loss {tot / 1900:.1f}, val_loss {val:.1f}")
