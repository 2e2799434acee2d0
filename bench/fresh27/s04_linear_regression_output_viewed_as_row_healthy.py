# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""PyTorch forums, "Simple linear regression in PyTorch" (the thread is stored in the search
corpus as a page of https://huggingface.co/datasets/nvidia/Nemotron-CC-Math-v1; the answer is
credited to Richard): y = weights . x + bias fitted by hand, x with a column of ones and the
feature, weights = Variable(torch.randn(2, 1), requires_grad=True), bias =
Variable(torch.randn(1), requires_grad=True), Adam over [weights, bias], 10,000 iterations of
out = x.mm(weights).add_(bias); loss = torch.mean((out - y)**2). The fitted weights came out as
(-1.29, 0.32) where (0, 1) was expected. Here the same parameters, loop and loss on 200 synthetic
points (feature in [0, 10], y = x + noise) instead of the thread's four, Adam at lr=0.01 instead of
1e-5 (so that 3000 iterations are enough to converge), loss.item() for the old loss.data[0], and
the fitted weights and the loss on 100 held-out points printed at the end. This twin is the
answer's version: out = out.view(-1) before the loss, so that out and y have the same shape."""

import torch
from torch.autograd import Variable

torch.manual_seed(0)

features = torch.rand(300) * 10
targets = features + 0.5 * torch.randn(300)
x_all = torch.stack([torch.ones(300), features], dim=1)

x = Variable(x_all[:200])
y = Variable(targets[:200])
x_test, y_test = x_all[200:], targets[200:]

weights = Variable(torch.randn(2, 1), requires_grad=True)
bias = Variable(torch.randn(1), requires_grad=True)

optimizer = torch.optim.Adam([weights, bias], lr=0.01)

loss_history = []
for i in range(3000):
    out = x.mm(weights).add_(bias)
    out = out.view(-1)
    loss = torch.mean((out - y) ** 2)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    loss_history.append(loss.item())
    if i % 500 == 0:
        print(i, loss.item())

with torch.no_grad():
    test_pred = x_test.mm(weights).add_(bias).view(-1)
    test_mse = torch.mean((test_pred - y_test) ** 2).item()
print("final loss %.4f  weights %s  bias %.3f  held-out mse %.4f (variance of y %.3f)" % (
    loss_history[-1], [round(w, 3) for w in weights.view(-1).tolist()], bias.item(), test_mse, y_test.var().item()))
