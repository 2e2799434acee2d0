# lossdoctor-expect:
# source: https://github.com/greebear/pytorch-learning/issues/1
# fix: reset both gradients after each update (w.grad.data.zero_(), b.grad.data.zero_())
"""A course's linear-regression demo: w and b are plain tensors updated by hand (no optimizer)
from loss.backward(), fixed: both gradients are reset after each update."""

import torch

torch.manual_seed(10)

lr = 0.05

x = torch.rand(20, 1) * 10
y = 2 * x + (5 + torch.randn(20, 1))

w = torch.randn((1), requires_grad=True)
b = torch.zeros((1), requires_grad=True)

for iteration in range(1000):
    wx = torch.mul(w, x)
    y_pred = torch.add(wx, b)

    loss = (0.5 * (y - y_pred) ** 2).mean()
    loss.backward()

    b.data.sub_(lr * b.grad)
    w.data.sub_(lr * w.grad)

    w.grad.data.zero_()
    b.grad.data.zero_()

    if iteration % 50 == 0:
        print(f"iteration {iteration} loss {loss.item():.4f} w {w.item():.3f} b {b.item():.3f}")
    if loss.data.numpy() < 1:
        break
