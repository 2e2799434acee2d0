# lossdoctor-expect:
"""Healthy: an MLP regressing a smooth function of 4 inputs with MSELoss; nothing is wrong."""
# lossdoctor-family: mlp
# lossdoctor-zoo: fast

import torch
from torch import nn

torch.manual_seed(0)


def target(x):
    return torch.sin(2 * x[:, :1]) + x[:, 1:2] * x[:, 2:3] - 0.5 * x[:, 3:4] ** 2


x = torch.rand(3000, 4) * 2 - 1
y = target(x) + 0.1 * torch.randn(3000, 1)
x_train, y_train, x_val, y_val = x[:2400], y[:2400], x[2400:], y[2400:]

model = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.MSELoss()
batch_size = 48

for epoch in range(15):
    model.train()
    permutation = torch.randperm(len(x_train))
    for i in range(0, len(x_train), batch_size):
        idx = permutation[i:i + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_mse = loss_fn(model(x_val), y_val).item()
    print(f"epoch {epoch + 1:2d}  val MSE {val_mse:.5f}")
