# lossdoctor-expect: dead_relu
"""Hidden layers start with a bias of -3: every ReLU is off for every input and never wakes up."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Three classes decided by two directions of 10 standardized features.
x = torch.randn(2400, 10)
directions = torch.randn(10, 2)
y = (x @ directions).argmax(dim=1) + ((x @ directions).amax(dim=1) > 1).long()
train_loader = DataLoader(TensorDataset(x[:2000], y[:2000]), batch_size=50, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2000:], y[2000:]), batch_size=200)

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, 3))
for layer in (model[0], model[2]):
    nn.init.constant_(layer.bias, -3.0)  # meant to make the hidden units sparse
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(12):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader)
    print(f"epoch {epoch:2d} val_loss {val_loss / 400:.4f}")
