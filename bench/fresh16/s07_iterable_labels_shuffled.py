# lossdoctor-expect: no_signal
"""Sensor-window classifier fed by a streaming IterableDataset.
Bug: the training labels are shuffled on their own (np.random.shuffle(labels)) to 'mix the data',
so they no longer belong to their inputs; the validation rows are intact."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, IterableDataset

np.random.seed(7)
torch.manual_seed(7)
T = 24


def windows(n):
    freq = np.random.randint(0, 2, n)
    t = np.arange(T)
    phase = np.random.rand(n, 1) * 6.28
    sig = np.sin((1 + 2 * freq[:, None]) * 0.4 * t + phase) + 0.3 * np.random.randn(n, T)
    return sig.astype(np.float32), freq.astype(np.float32)


xs, labels = windows(3000)
xv, yv = windows(600)
np.random.shuffle(labels)


class Stream(IterableDataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        order = np.random.permutation(len(self.x))
        for i in order:
            yield torch.from_numpy(self.x[i]), torch.tensor(self.y[i])


loader = DataLoader(Stream(xs, labels), batch_size=64)
net = nn.Sequential(nn.Linear(T, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.RMSprop(net.parameters(), lr=1e-3)
bce = nn.BCEWithLogitsLoss()
XV, YV = torch.from_numpy(xv), torch.from_numpy(yv)
for epoch in range(10):
    s, c = 0.0, 0
    for xb, yb in loader:
        out = net(xb).squeeze(1)
        loss = bce(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        s += loss.item()
        c += 1
    with torch.no_grad():
        v = bce(net(XV).squeeze(1), YV).item()
    print(f"epoch {epoch} | train_loss {s / c:.4f} | val_loss {v:.4f}")
