# lossdoctor-expect:
"""Learning to sum three inputs with one linear layer, in the poster's idiom
(https://discuss.pytorch.org/t/output-of-the-model-depends-on-the-shape-of-the-weights-tensor/148155):
Sequential(Linear(3, 1, bias=False)) with zero weights, full-batch SGD, MSELoss,
ReduceLROnPlateau stepped on the training loss, no validation set.
Fixed twin of s01 (the answer applied): the target is unsqueezed to (1024, 1).
The answer (ptrblck): `loss = mse(out, y.unsqueeze(1))`."""

import torch
from torch.nn import Linear as Lin
from torch.nn import Sequential as Seq
from torch.optim.lr_scheduler import ReduceLROnPlateau

torch.manual_seed(0)
X = torch.rand((1024, 3))
y = X[:, 0] + X[:, 1] + X[:, 2]
m = Seq(Lin(3, 1, bias=False))
m[0].weight = torch.nn.parameter.Parameter(torch.tensor([[0, 0, 0]], dtype=torch.float))

optim = torch.optim.SGD(m.parameters(), lr=10e-2)
scheduler = ReduceLROnPlateau(optim, "min", factor=0.5, patience=20)
mse = torch.nn.MSELoss()
for epoch in range(500):
    optim.zero_grad()
    out = m(X)
    loss = mse(out, y.unsqueeze(1))
    loss.backward()
    optim.step()
    if epoch % 20 == 0:
        print(f"epoch {epoch} loss {loss.item():.6f}")
    scheduler.step(loss)
