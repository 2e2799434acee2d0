# lossdoctor-expect:
"""Healthy: a small CNN tells four shapes apart in noisy 16x16 images; nothing is wrong."""
# lossdoctor-family: cnn

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def shapes(n):
    """16x16 noisy images of a horizontal bar, a vertical bar, a box or a diagonal, anywhere."""
    labels = torch.randint(0, 4, (n,))
    images = 0.3 * torch.randn(n, 1, 16, 16)
    corners = torch.randint(0, 11, (n, 2)).tolist()
    for image, label, (row, col) in zip(images, labels.tolist(), corners, strict=True):
        patch = image[0, row:row + 5, col:col + 5]
        if label == 0:
            patch[2, :] += 1.0
        elif label == 1:
            patch[:, 2] += 1.0
        elif label == 2:
            patch[0, :] += 1.0
            patch[4, :] += 1.0
            patch[1:4, 0] += 1.0
            patch[1:4, 4] += 1.0
        else:
            patch.diagonal().add_(1.0)
    return images, labels


x_train, y_train = shapes(2000)
x_val, y_val = shapes(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
    nn.Flatten(), nn.Linear(16, 4),
)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
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
