# lossdoctor-expect: optimizer_choice
"""Plain SGD on near-identical sensor pairs: a narrow valley it crawls along; momentum crosses."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Four machines, each read by two sensors that agree up to a small drift; a fault shows as
# the first machine's second sensor reading above its first. Standardized, as they should be.
n = 3000
reading = torch.randn(n, 4)
drift = torch.randn(n, 4)
raw = torch.cat([reading, reading + 0.1 * drift], dim=1)
x = (raw - raw.mean(dim=0)) / raw.std(dim=0)
y = (drift[:, 0] > 0).long()
train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)

model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader) / 500
    print(f"epoch {epoch + 1}: val_loss={val_loss:.4f}")
