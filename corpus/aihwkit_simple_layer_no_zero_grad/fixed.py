# lossdoctor-expect:
# source: https://github.com/IBM/aihwkit/issues/446
# fix: opt.zero_grad() before each backward, as the maintainer confirmed
# ruff: noqa: B007
"""aihwkit's first example (one layer, two fixed rows, SGD lr 0.1, 100 epochs) with an ordinary
nn.Linear in place of the analog layer: fixed: the gradients are reset every step."""

import torch
from torch import nn
from torch.nn.functional import mse_loss

torch.manual_seed(0)

x = torch.tensor([[0.1, 0.2, 0.4, 0.3], [0.2, 0.1, 0.1, 0.3]])
y = torch.tensor([[1.0, 0.5], [0.7, 0.3]])

model = nn.Linear(4, 2, bias=True)
opt = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(100):
    opt.zero_grad()
    pred = model(x)
    loss = mse_loss(pred, y)
    loss.backward()
    opt.step()
    print(f"Loss error: {loss.item():.16f}")
