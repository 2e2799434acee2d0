# lossdoctor-expect: loss_mismatch
# source: https://github.com/Lightning-Universe/lightning-bolts/issues/654
# answer: forward() already returns softmax(linear(x)) and the loss applies log_softmax again (nll_loss(log_softmax(softmax(...)))); compute the loss on the linear outputs
# ruff: noqa: E501
"""Lightning-bolts' LogisticRegression (one linear layer, softmax in forward, Adam,
summed loss) written as its training_step / validation_step, on digits-like tabular data
(64 features, 10 classes)."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

n, input_dim, num_classes = 1800, 64, 10
centers = 4 * torch.rand(num_classes, input_dim)
y_all = torch.randint(0, num_classes, (n,))
x_all = (centers[y_all] + 2.0 * torch.randn(n, input_dim)).clamp(0, 16)
x_all = x_all / 16.0
train_loader = DataLoader(TensorDataset(x_all[:1400], y_all[:1400]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_all[1400:], y_all[1400:]), batch_size=400)


class LogisticRegression(nn.Module):
    def __init__(self, input_dim, num_classes, bias=True):
        super().__init__()
        self.linear = nn.Linear(in_features=input_dim, out_features=num_classes, bias=bias)

    def forward(self, x):
        x = self.linear(x)
        y_hat = F.softmax(x, dim=-1)
        return y_hat


def step_loss(model, batch):
    x, y = batch
    x = x.view(x.size(0), -1)
    y_hat = model(x)
    return F.nll_loss(F.log_softmax(y_hat, dim=-1), y, reduction="sum"), y_hat


model = LogisticRegression(input_dim, num_classes)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)

for epoch in range(15):
    model.train()
    for batch in train_loader:
        loss, _ = step_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss, y_hat = step_loss(model, next(iter(val_loader)))
        acc = (y_hat.argmax(dim=-1) == y_all[1400:]).float().mean()
    print(f"epoch {epoch} val_loss {val_loss.item() / 400:.4f} val_acc {acc:.3f}")
