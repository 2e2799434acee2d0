# lossdoctor-expect:
# source: https://discuss.pytorch.org/t/scaling-target-variables/41046
# fix: min-max scale the targets to [0, 1] for training; unscale the predictions to report the error
# ruff: noqa: E501
"""The asker's regressor: inputs scaled to [-1, 1], two hidden layers of 5 tanh units with Xavier
initialization, a linear output, MSE; the targets (all around -2700) are, fixed, scaled to [0, 1]."""

import torch
from torch import nn

torch.manual_seed(0)

n = 2000
x = 2 * torch.rand(n, 4) - 1
y = -2700 + 40 * torch.sin(3 * x[:, :1]) + 30 * x[:, 1:2] * x[:, 2:3] + 5 * torch.randn(n, 1)
y_min, y_max = y[:1600].min(), y[:1600].max()
y_scaled = (y - y_min) / (y_max - y_min)
x_train, y_train, x_val, y_val = x[:1600], y_scaled[:1600], x[1600:], y_scaled[1600:]

model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 1))
for layer in model:
    if isinstance(layer, nn.Linear):
        nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain("tanh"))
optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
criterion = nn.MSELoss()

for epoch in range(40):
    for start in range(0, 1600, 32):
        optimizer.zero_grad()
        loss = criterion(model(x_train[start:start + 32]), y_train[start:start + 32])
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        prediction = model(x_val)
        val_loss = criterion(prediction, y_val).item()
        unscaled_mse = criterion(prediction * (y_max - y_min) + y_min, y[1600:]).item()
    print(f"epoch {epoch} val mse {val_loss:.5f} (unscaled {unscaled_mse:.2f}) prediction spread {prediction.std().item():.3f}")
