# lossdoctor-expect:
"""Healthy: a CNN with BatchNorm finds how far down a noisy image its bar lies (regression)."""
# lossdoctor-family: cnn
# lossdoctor-zoo: fast

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def bars(n):
    """16x16 noisy images with one short horizontal bar; the target is its height in [0, 1]."""
    rows = torch.randint(0, 16, (n,))
    starts = torch.randint(0, 10, (n,))
    images = 0.3 * torch.randn(n, 1, 16, 16)
    for image, row, start in zip(images, rows.tolist(), starts.tolist(), strict=True):
        image[0, row, start:start + 6] += 1.0
    return images, (rows.float() / 15).unsqueeze(1)


x_train, y_train = bars(2000)
x_val, y_val = bars(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
    nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
    nn.Flatten(), nn.Dropout(0.1), nn.Linear(8 * 16 * 16, 1),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

for epoch in range(6):
    model.train()
    for images, heights in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), heights)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(loss_fn(model(x), y).item() * len(y) for x, y in val_loader) / len(y_val)
    print(f"epoch {epoch}: val_loss={val_loss:.4f}")
