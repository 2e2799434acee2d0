# lossdoctor-expect: bad_init
"""Broken: a small CNN initialized by hand, weights uniform in [-2, 2], no fan-in scaling."""
# lossdoctor-family: cnn

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def images(n):
    """10x10 noisy images; label 1 when a bright square is in the top half."""
    x = 0.3 * torch.randn(n, 1, 10, 10)
    label = torch.randint(0, 2, (n,))
    column = torch.randint(0, 7, (n,))
    for i in range(n):
        row = 1 if label[i] else 6
        x[i, 0, row:row + 3, column[i]:column[i] + 3] += 1.0
    return x, label


x_train, y_train = images(1000)
x_val, y_val = images(250)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=50, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=125)

model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 5 * 5, 32), nn.ReLU(), nn.Linear(32, 2))
for layer in model:
    if isinstance(layer, (nn.Conv2d, nn.Linear)):
        nn.init.uniform_(layer.weight, -2.0, 2.0)  # hand-rolled init, no fan-in scaling
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
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
