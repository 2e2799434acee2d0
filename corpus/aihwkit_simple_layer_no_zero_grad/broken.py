# lossdoctor-expect: missing_zero_grad
# source: https://github.com/IBM/aihwkit/issues/446
# answer: the example never calls opt.zero_grad(), so gradients pile up and the loss falls then climbs; zero them every step
# ruff: noqa: B007, E501
"""aihwkit's first example (one layer, two fixed rows, SGD lr 0.1, 100 epochs) with an ordinary
nn.Linear in place of the analog layer: the loop never resets the gradients."""

import torch
from torch import nn
from torch.nn.functional import mse_loss

torch.manual_seed(0)

x = torch.tensor([[0.1, 0.2, 0.4, 0.3], [0.2, 0.1, 0.1, 0.3]])
y = torch.tensor([[1.0, 0.5], [0.7, 0.3]])

model = nn.Linear(4, 2, bias=True)
opt = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(100):
    pred = model(x)
    loss = mse_loss(pred, y)
    loss.backward()
    opt.step()
    print(f"Loss error: {loss.item():.16f}")
