# lossdoctor-expect: class_imbalance
"""Fraud detection with 7% fraud: the model predicts "not fraud" for everything, loss stays flat."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Eight standardized transaction features; fraud shifts three of them a little.
rows = 4000
fraud = (torch.rand(rows) < 0.07).float()
features = torch.randn(rows, 8)
features[:, :3] += 0.6 * fraud[:, None]
labels = fraud.unsqueeze(1)

train_loader = DataLoader(TensorDataset(features[:3000], labels[:3000]), batch_size=64,
                          shuffle=True)
val_loader = DataLoader(TensorDataset(features[3000:], labels[3000:]), batch_size=500)

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()

for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    caught, total_loss = 0, 0.0
    with torch.no_grad():
        for x, y in val_loader:
            logits = model(x)
            total_loss += criterion(logits, y).item() * len(y)
            caught += ((logits > 0) & (y > 0.5)).sum().item()
    print(f"epoch {epoch + 1:2d}  val loss {total_loss / 1000:.4f}  frauds caught {caught}")
