# lossdoctor-expect: bad_init
"""Broken: a tabular MLP whose weights were drawn with std 1: huge outputs before training."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Loan default from eight standardized applicant features.
x = torch.randn(3000, 8)
y = ((x[:, 0] + 0.8 * x[:, 1] - 0.5 * x[:, 2] * x[:, 3]) > 0.3).long()
train_loader = DataLoader(TensorDataset(x[:2400], y[:2400]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2400:], y[2400:]), batch_size=300)

model = nn.Sequential(nn.Linear(8, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 2))
for layer in model:
    if isinstance(layer, nn.Linear):
        nn.init.normal_(layer.weight, std=1.0)  # "small random weights"
        nn.init.zeros_(layer.bias)
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
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
