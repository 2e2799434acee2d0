# lossdoctor-expect: unscaled_targets
"""Broken: a CNN regresses a light meter's reading in lux (around 1,000) with MSELoss, unscaled."""
# lossdoctor-family: cnn

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def spots(n):
    """16x16 noisy images of a lit square; the meter reads its brightness in lux."""
    brightness = 0.5 + 1.5 * torch.rand(n)
    corners = torch.randint(0, 11, (n, 2)).tolist()
    images = 0.3 * torch.randn(n, 1, 16, 16)
    for image, level, (row, col) in zip(images, brightness.tolist(), corners, strict=True):
        image[0, row:row + 5, col:col + 5] += level
    lux = 700 * brightness + 20 * torch.randn(n)
    return images, lux.unsqueeze(1)


x_train, y_train = spots(2000)
x_val, y_val = spots(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
    nn.Flatten(), nn.Linear(16, 1),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

for epoch in range(6):
    model.train()
    for images, lux in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), lux)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(loss_fn(model(x), y).item() * len(y) for x, y in val_loader) / len(y_val)
    print(f"epoch {epoch}: val_loss={val_loss:.1f}")
