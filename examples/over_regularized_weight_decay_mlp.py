# lossdoctor-expect: over_regularized
"""Adam with weight_decay=0.3 (meant 3e-4): weights pinned near zero, the loss stays high."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Credit-risk style tabular data: default depends on a few standardized features, nonlinearly.
x = torch.randn(3000, 12)
score = x[:, 0] * x[:, 1] + torch.sin(2 * x[:, 2]) + 0.8 * x[:, 3] - 0.5 * x[:, 4] ** 2
y = (score + 0.3 * torch.randn(3000) > 0).long()
train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)

model = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=0.3)
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
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader) / 500
    print(f"epoch {epoch + 1}: val_loss={val_loss:.4f}")
