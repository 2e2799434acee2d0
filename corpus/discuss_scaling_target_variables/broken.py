# lossdoctor-expect: unscaled_targets
# source: https://discuss.pytorch.org/t/scaling-target-variables/41046
# answer: the targets sit around -2700 while the tanh network starts near 0, so the huge early gradients push it into tanh saturation and it predicts the mean; scale the targets (or start the output at their mean)
# ruff: noqa: E501
"""The asker's regressor: inputs scaled to [-1, 1], two hidden layers of 5 tanh units with Xavier
initialization, a linear output, MSE; the targets (all around -2700) are left unscaled."""

import torch
from torch import nn

torch.manual_seed(0)

n = 2000
x = 2 * torch.rand(n, 4) - 1
y = -2700 + 40 * torch.sin(3 * x[:, :1]) + 30 * x[:, 1:2] * x[:, 2:3] + 5 * torch.randn(n, 1)
x_train, y_train, x_val, y_val = x[:1600], y[:1600], x[1600:], y[1600:]

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
    print(f"epoch {epoch} val mse {val_loss:.2f} prediction spread {prediction.std().item():.3f}")
