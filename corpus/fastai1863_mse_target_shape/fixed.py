# lossdoctor-expect:
# source: https://github.com/fastai/fastai/issues/1863
# fix: store the target as a column, shape (N, 1), matching the model output
"""fastai's basic_train loop (train_epoch / validate) fed nn.MSELoss directly on a tabular
regression: fixed: the dataset stores the target as a column."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

n_rows, n_features = 1500, 8
x = torch.randn(n_rows, n_features)
coef = torch.randn(n_features)
y = x @ coef + 0.5 * torch.sin(2 * x[:, 0]) + 0.1 * torch.randn(n_rows)
y = y.unsqueeze(1)

train_dl = DataLoader(TensorDataset(x[:1200], y[:1200]), batch_size=64, shuffle=True)
valid_dl = DataLoader(TensorDataset(x[1200:], y[1200:]), batch_size=128)

model = nn.Sequential(nn.Linear(n_features, 50), nn.ReLU(), nn.Linear(50, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_func = nn.MSELoss()


def train_epoch(model, dl, opt, loss_func):
    model.train()
    for xb, yb in dl:
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()


def validate(model, dl, loss_func):
    model.eval()
    with torch.no_grad():
        losses = [loss_func(model(xb), yb).item() * len(yb) for xb, yb in dl]
    return sum(losses) / len(dl.dataset)


for epoch in range(12):
    train_epoch(model, train_dl, opt, loss_func)
    print(f"epoch {epoch} valid loss {validate(model, valid_dl, loss_func):.4f}")
