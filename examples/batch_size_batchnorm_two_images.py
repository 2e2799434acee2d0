# lossdoctor-expect: batch_size
"""BatchNorm CNN fed two images a batch: batch statistics erase the brightness it must judge."""
# lossdoctor-family: cnn

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def exposures(n):
    """Noisy 16x16 textures; label 1 for an over-exposed image (brightness above the usual)."""
    brightness = torch.rand(n) * 2 - 1
    images = torch.randn(n, 1, 16, 16) * 0.5 + brightness.view(n, 1, 1, 1)
    return images, (brightness > 0).long()


x_train, y_train = exposures(600)
x_val, y_val = exposures(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=2, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Linear(16, 2),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(2):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(x), y).item() * len(y) for x, y in val_loader) / len(y_val)
    print(f"epoch {epoch}: val_loss={val_loss:.4f}")
