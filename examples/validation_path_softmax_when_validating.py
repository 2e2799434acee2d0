# lossdoctor-expect: validation_path
"""Validation applies a softmax before a loss that applies its own: the reported loss lags."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Customer churn: churned when usage is low and support calls are many.
features = torch.randn(3000, 8)
churned = ((features[:, 0] < 0) & (features[:, 3] > -0.5)).long()

train_loader = DataLoader(TensorDataset(features[:2400], churned[:2400]), batch_size=32,
                          shuffle=True)
val_loader = DataLoader(TensorDataset(features[2400:], churned[2400:]), batch_size=200)

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(8):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(torch.softmax(model(xb), dim=1), yb).item()
                       for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
