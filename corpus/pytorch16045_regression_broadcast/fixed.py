# lossdoctor-expect:
# source: https://github.com/pytorch/pytorch/issues/16045
# fix: uncomment the reshape so the target is [100, 1] like the prediction
# ruff: noqa: B007
"""The issue's own script: linear regression y = 10 + 9 x0 - 2 x1 + noise with nn.Linear(2, 1)
and SGD lr 0.1; fixed: y is reshaped to [100, 1]."""

import torch
import torch.nn as nn

torch.manual_seed(0)

sample_size = 100
x = torch.randn((sample_size, 2))
eps = torch.randn(sample_size)
y = 10 + 9 * x[:, 0] - 2 * x[:, 1] + eps
y = y.reshape(sample_size, 1)
model = nn.Linear(2, 1)

optimizer = torch.optim.SGD(model.parameters(), lr=.1)
loss_func = nn.MSELoss()
for epoch in range(30):
    optimizer.zero_grad()
    yhat = model(x)
    loss_val = loss_func(yhat, y)
    loss_val.backward()
    optimizer.step()
    print(loss_val.item())

print(model.weight.data)
print(model.bias.data)
