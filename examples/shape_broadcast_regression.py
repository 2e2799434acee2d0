# lossdoctor-expect: shape_broadcast
"""Shape broadcast: the model predicts (N, 1), the targets are (N,), and MSELoss compares N x N."""
# lossdoctor-family: mlp

import warnings

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

warnings.filterwarnings("ignore", category=UserWarning)  # "it trains, the warning is noise"
torch.manual_seed(0)

# A smooth function of 8 standardized features; standardized target.
x = torch.randn(3000, 8)
y = torch.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] - 0.3 * x[:, 3]
y = (y - y[:2500].mean()) / y[:2500].std()
train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)

model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.MSELoss()

for epoch in range(12):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader) / 500
    print(f"epoch {epoch:2d} val_loss {val_loss:.4f}")
