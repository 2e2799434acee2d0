# lossdoctor-expect: lr_schedule
"""An epoch scheduler (x0.9) stepped after every batch: the rate is gone within the first epoch."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Is the point inside the unit ball? Learnable by any small MLP.
x = torch.randn(3000, 6)
y = (x.norm(dim=1) < 2.3).float().unsqueeze(1)
train = TensorDataset(x[:2500], y[:2500])
val = TensorDataset(x[2500:], y[2500:])
train_loader = DataLoader(train, batch_size=32, shuffle=True)
val_loader = DataLoader(val, batch_size=100)

model = nn.Sequential(nn.Linear(6, 64), nn.Tanh(), nn.Linear(64, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
criterion = nn.BCEWithLogitsLoss()

for epoch in range(8):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        scheduler.step()  # meant to run once per epoch, after this loop
    model.eval()
    total = 0.0
    with torch.no_grad():
        for xb, yb in val_loader:
            total += criterion(model(xb), yb).item()
    print(f"Epoch {epoch + 1}/8 - val_loss: {total / len(val_loader):.5f}")
