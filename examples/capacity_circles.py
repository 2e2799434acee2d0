# lossdoctor-expect: underfit_capacity
"""A linear classifier on concentric circles: no straight line separates the classes."""
# lossdoctor-family: mlp

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def circles(n):
    """Points on an inner circle (class 0) and an outer ring (class 1), with some noise."""
    labels = torch.randint(0, 2, (n,))
    radius = 1.0 + labels.float() + 0.15 * torch.randn(n)
    angle = 2 * math.pi * torch.rand(n)
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return points, labels


x_train, y_train = circles(2000)
x_val, y_val = circles(500)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=256)

model = nn.Linear(2, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()

for epoch in range(20):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader)
    print(f"epoch {epoch:2d}  val_loss {val_loss / len(x_val):.4f}")
