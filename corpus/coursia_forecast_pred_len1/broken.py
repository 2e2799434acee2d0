# lossdoctor-expect: shape_broadcast
# source: https://github.com/jsboige/CoursIA/pull/926
# answer: for pred_len=1 the model outputs (B, 1) but the target batch is (B,), so MSELoss broadcasts to (B, B) pairwise errors; use y_batch.view_as(pred)
# ruff: noqa: E501
"""A one-step-ahead forecaster (GRU encoder, linear head, pred_len=1) trained with MSELoss on
sliding windows of a synthetic series; the target windows are squeezed to shape (B,)."""

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

seq_len, pred_len = 20, 1
t = torch.arange(1600, dtype=torch.float32)
series = torch.sin(2 * math.pi * t / 50) + 0.5 * torch.sin(2 * math.pi * t / 17) + 0.1 * torch.randn(1600)

windows = series.unfold(0, seq_len + pred_len, 1)
x_all = windows[:, :seq_len].unsqueeze(-1)
y_all = windows[:, seq_len:].squeeze(-1)
split = int(0.8 * len(windows))
train_loader = DataLoader(TensorDataset(x_all[:split], y_all[:split]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_all[split:], y_all[split:]), batch_size=256)


class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.encoder = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, pred_len)

    def forward(self, x):
        _, h = self.encoder(x)
        return self.head(h[-1])


model = Forecaster()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
criterion = nn.MSELoss()

for epoch in range(5):
    model.train()
    for x_batch, y_batch in train_loader:
        optimizer.zero_grad()
        pred = model(x_batch)
        loss = criterion(pred, y_batch)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(criterion(model(xb), yb).item() * len(xb) for xb, yb in val_loader)
    print(f"epoch {epoch} val_mse {val / len(val_loader.dataset):.4f}")
