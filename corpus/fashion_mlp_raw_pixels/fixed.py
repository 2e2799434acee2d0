# lossdoctor-expect:
# source: https://stats.stackexchange.com/questions/367057/bad-performance-with-relu-activation-function-on-mnist-data-set
# fix: divide the pixels by 255 so the inputs lie in [0, 1]
# ruff: noqa: E501
"""The asker's Keras MLP on Fashion-MNIST (Dense 128 ReLU, Dense 128 ReLU, Dense 10 softmax,
categorical cross entropy, Adam, up to 20 epochs with EarlyStopping(patience=3)), ported to
PyTorch, on synthetic 28 x 28 garments fixed: pixels scaled to [0, 1]."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_garments(n, templates):
    labels = torch.randint(0, 10, (n,))
    brightness = 0.6 + 0.8 * torch.rand(n, 1, 1, 1)
    images = brightness * templates[labels] + 0.3 * torch.randn(n, 1, 28, 28)
    return (255 * images.clamp(0, 1)).round(), labels


base = torch.rand(1, 1, 7, 7)
templates = F.interpolate(0.7 * base + 0.3 * torch.rand(10, 1, 7, 7), size=(28, 28), mode="bilinear", align_corners=False)
x_train, y_train = make_garments(1500, templates)
x_test, y_test = make_garments(400, templates)
x_train, x_test = x_train / 255.0, x_test / 255.0
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
for layer in model:
    if isinstance(layer, nn.Linear):  # Keras Dense defaults
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)
optimizer = torch.optim.Adam(model.parameters())
loss_fn = nn.CrossEntropyLoss()

best, patience = float("inf"), 0
for epoch in range(20):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(x_test)
        val_loss = loss_fn(logits, y_test).item()
        val_acc = (logits.argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch + 1} - loss: {loss.item():.4f} - val_loss: {val_loss:.4f} - val_acc: {val_acc:.4f}")
    if val_loss < best:
        best, patience = val_loss, 0
    else:
        patience += 1
        if patience >= 3:
            break
