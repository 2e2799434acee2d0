# lossdoctor-expect: label_range
"""Label range: a churn CSV codes its labels 1 and 2, fed straight to BCEWithLogitsLoss."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Ten standardized customer features; label 2 ("churned") or 1 ("stayed").
x = torch.randn(3000, 10)
score = x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3]
y = 1.0 + (score + 0.3 * torch.randn(3000) > 0).float()
train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1), nn.Flatten(0))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()

for epoch in range(10):
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
