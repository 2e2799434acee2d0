# lossdoctor-expect: missing_zero_grad
"""Tabular churn MLP with gradient accumulation over 4 micro-batches and gradient clipping.
Bug: zero_grad is called once per epoch (before the loop) instead of after each optimizer step."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(11)
torch.manual_seed(11)
N, D = 3000, 12
X = rng.normal(size=(N, D)).astype(np.float32)
w = rng.normal(size=D)
y = ((X @ w + 0.5 * np.sin(3 * X[:, 0])) > 0).astype(np.float32)
Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
tr, va = slice(0, 2400), slice(2400, N)

net = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
crit = nn.BCEWithLogitsLoss()
ACCUM, MICRO = 4, 16

for epoch in range(12):
    net.train()
    perm = torch.randperm(2400)
    opt.zero_grad()
    total = 0.0
    for i in range(0, 2400, MICRO):
        idx = perm[i:i + MICRO]
        loss = crit(net(Xt[tr][idx]).squeeze(-1), yt[tr][idx]) / ACCUM
        loss.backward()
        total += loss.item() * ACCUM
        if (i // MICRO + 1) % ACCUM == 0:
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
    net.eval()
    with torch.no_grad():
        v = crit(net(Xt[va]).squeeze(-1), yt[va]).item()
    print(f"epoch {epoch}: train_loss={total / (2400 // MICRO):.4f} val_loss={v:.4f}")
