# lossdoctor-expect: vanishing_gradients
"""A ten-layer sigmoid MLP with default init: gradients vanish before the first layers learn."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Two classes split by a plane through 10 standardized features: one linear layer could learn it.
x = torch.randn(2400, 10)
y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).long()
train_loader = DataLoader(TensorDataset(x[:2000], y[:2000]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2000:], y[2000:]), batch_size=200)

# "Deeper is better": nine hidden layers of 32 sigmoid units.
layers = [nn.Linear(10, 32), nn.Sigmoid()]
for _ in range(8):
    layers += [nn.Linear(32, 32), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
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
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
