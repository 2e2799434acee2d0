# lossdoctor-expect: train_val_shift
"""Broken: validation images come from a camera with another exposure."""
# lossdoctor-family: cnn

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def images(n, brightness=0.0, contrast=1.0):
    """12x12 noisy images; label 1 when a bright bar is horizontal, 0 when vertical."""
    x = 0.3 * torch.randn(n, 1, 12, 12)
    label = torch.randint(0, 2, (n,))
    where = torch.randint(2, 10, (n,))
    for i in range(n):
        if label[i]:
            x[i, 0, where[i], 2:10] += 1.0
        else:
            x[i, 0, 2:10, where[i]] += 1.0
    return x * contrast + brightness, label


x_train, y_train = images(1200)
x_val, y_val = images(300, brightness=1.5, contrast=0.5)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=150)

model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
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
