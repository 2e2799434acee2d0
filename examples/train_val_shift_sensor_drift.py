# lossdoctor-expect: train_val_shift
"""Broken: validation readings come from a recalibrated sensor (offset and rescaled)."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def readings(n, offset=0.0, gain=1.0):
    """Machine health from six standardized sensor readings; failing when two run hot."""
    x = torch.randn(n, 6)
    failing = (x[:, 0] + x[:, 1] > 0.5).long()
    x[:, :2] = x[:, :2] * gain + offset
    return x, failing


x_train, y_train = readings(2000)
x_val, y_val = readings(500, offset=1.5, gain=2.0)  # the new sensor firmware
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=250)

model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
