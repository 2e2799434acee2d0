# lossdoctor-expect: saturated_activation
"""Saturated sigmoids: hidden layers start with N(0, 3) weights on 40 standardized features."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
FEATURES = 40


def customers(n):
    """Standardized customer features; churn depends on a few of them, not linearly."""
    x = torch.randn(n, FEATURES)
    score = x[:, 0] * x[:, 1] + torch.sin(2 * x[:, 2]) - 0.5 * x[:, 3] ** 2 + 0.5
    return x, (score + 0.3 * torch.randn(n) > 0).long()


model = nn.Sequential(
    nn.Linear(FEATURES, 64), nn.Sigmoid(),
    nn.Linear(64, 64), nn.Sigmoid(),
    nn.Linear(64, 2),
)
for layer in model[:-1]:
    if isinstance(layer, nn.Linear):
        nn.init.normal_(layer.weight, std=3.0)  # "weights ~ N(0, 3)"

x_train, y_train = customers(3000)
x_val, y_val = customers(600)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
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
