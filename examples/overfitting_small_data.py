# lossdoctor-expect: overfitting
"""A wide MLP trained for 80 epochs on 200 noisy rows: it memorizes them and validation worsens."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# The label is the sign of a linear score, flipped for a fifth of the rows (label noise).
weights = torch.randn(10)


def rows(n):
    x = torch.randn(n, 10)
    y = (x @ weights > 0).long()
    flipped = torch.rand(n) < 0.2
    return x, torch.where(flipped, 1 - y, y)


x_train, y_train = rows(200)
x_val, y_val = rows(600)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=20, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(nn.Linear(10, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                      nn.Linear(256, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
criterion = nn.CrossEntropyLoss()

for epoch in range(80):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader)
    print(f"epoch {epoch:2d} val_loss {val_loss / len(x_val):.4f}")
