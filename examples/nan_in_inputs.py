# lossdoctor-expect: nan_inf
"""A tabular regression whose features have missing readings stored as NaN: the loss turns NaN."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Twelve standardized sensor readings predict a smooth target; one sensor drops out now and then,
# and the loader below stores its missing readings as NaN instead of filling them.
x = torch.randn(3000, 12)
y = (x[:, 0] - 0.5 * x[:, 3] + torch.sin(x[:, 5]) + 0.1 * torch.randn(3000)).unsqueeze(1)
dropouts = torch.rand(3000) < 0.01
x[dropouts, 7] = float("nan")

train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)

model = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.MSELoss()

for epoch in range(10):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
