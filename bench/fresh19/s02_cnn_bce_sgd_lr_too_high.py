# lossdoctor-expect: lr_too_high
"""A small binary CNN with a sigmoid output and BCELoss, plain SGD, shuffled every epoch, as in
datascience.stackexchange.com question 28481 ('the model converges to loss 0.6 and accuracy
0.5 ... it always predicts 0.5').
Bug (the thread's answer): 'it might be an issue of too high learning rate ... reduce the
learning rate to 0.001 and use Adam'. Here SGD runs at 2.0."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)


def make_images(n, g):
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 16, 16, generator=g)
    pos = torch.randint(2, 14, (n,), generator=g)
    for i in range(n):
        if y[i] == 1:
            x[i, 0, pos[i], 2:14] += 1.0
        else:
            x[i, 0, 2:14, pos[i]] += 1.0
    return x, y.float()


g = torch.Generator().manual_seed(1)
x_train, y_train = make_images(1536, g)
x_val, y_val = make_images(384, g)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=128, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=128)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid(),
)
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=2.0)

for epoch in range(12):
    model.train()
    running = 0.0
    for images, labels in train_loader:
        optimizer.zero_grad()
        outputs = model(images).squeeze(1)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running += loss.item()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb).squeeze(1), yb).item() for xb, yb in val_loader)
        acc = ((model(x_val).squeeze(1) > 0.5).float() == y_val).float().mean().item()
    print(f"Epoch {epoch}: train_loss={running / len(train_loader):.4f} "
          f"val_loss={val_loss / len(val_loader):.4f} val_acc={acc:.3f}")
