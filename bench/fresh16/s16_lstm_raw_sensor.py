# lossdoctor-expect: unnormalized_inputs
"""LSTM classifying machine state from 3 raw sensor channels (pressure in Pa, temperature in K,
rpm), gradient clipping at 1.0. Bug: the channels go in raw units, never standardized."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(16)
torch.manual_seed(16)
T = 20


def make(n):
    state = rng.integers(0, 3, n)
    t = np.arange(T)
    pressure = 101325 + 300 * rng.standard_normal((n, 1)) + 80 * state[:, None] * np.sin(0.5 * t)
    temp = 300 + 2 * rng.standard_normal((n, T)) + 1.5 * (state[:, None] == 2) * t / T
    rpm = 1500 + 40 * rng.standard_normal((n, T)) + 60 * (state[:, None] == 1)
    x = np.stack([pressure + 20 * rng.standard_normal((n, T)), temp, rpm], -1)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(state)


xtr, ytr = make(2000)
xva, yva = make(400)


class StateNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 32, batch_first=True)
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


net = StateNet()
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(8):
    net.train()
    perm = torch.randperm(2000)
    hist = []
    for i in range(0, 2000, 50):
        b = perm[i:i + 50]
        loss = loss_fn(net(xtr[b]), ytr[b])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
        opt.step()
        hist.append(loss.item())
    net.eval()
    with torch.no_grad():
        v = loss_fn(net(xva), yva).item()
    print(f"epoch {epoch}: train_loss {np.mean(hist):.4f} val_loss {v:.4f}")
