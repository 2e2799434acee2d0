# lossdoctor-expect: unnormalized_inputs
"""House listings fed in raw units (square feet, dollars, years), never standardized."""
# lossdoctor-family: mlp
# lossdoctor-zoo: fast

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def listings(n):
    """Raw listing features, and whether the house sold above its asking price."""
    area = 600 + 3400 * torch.rand(n)  # square feet
    lot = 2000 + 18000 * torch.rand(n)  # square feet
    year = 1920 + 100 * torch.rand(n)
    income = 30000 + 90000 * torch.rand(n)  # neighbourhood median, dollars
    rooms = torch.randint(1, 8, (n,)).float()
    features = torch.stack([area, lot, year, income, rooms], dim=1)
    score = (area - 2300) / 1000 + (year - 1970) / 30 + (income - 75000) / 26000
    sold_above = (score + 0.3 * torch.randn(n) > 0).float()
    return features, sold_above


x_train, y_train = listings(3000)
x_val, y_val = listings(600)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()

for epoch in range(12):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb).squeeze(1), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        losses = [criterion(model(xb).squeeze(1), yb).item() for xb, yb in val_loader]
    print(f"Epoch {epoch + 1}: validation loss {sum(losses) / len(losses):.4f}")
