# lossdoctor-expect: class_imbalance
"""Broken: 5% of the parts have a faint scratch; the CNN learns to call every part fine."""
# lossdoctor-family: cnn

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def parts(n):
    """16x16 noisy images of parts; a defective one has a faint short scratch somewhere."""
    defective = (torch.rand(n) < 0.05).float()
    images = 0.3 * torch.randn(n, 1, 16, 16)
    corners = torch.randint(0, 13, (n, 2)).tolist()
    for image, bad, (row, col) in zip(images, defective.tolist(), corners, strict=True):
        if bad:
            image[0, row, col:col + 4] += 0.8
    return images, defective.unsqueeze(1)


x_train, y_train = parts(3000)
x_val, y_val = parts(600)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
    nn.Flatten(), nn.Linear(16, 1),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()

for epoch in range(5):
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
