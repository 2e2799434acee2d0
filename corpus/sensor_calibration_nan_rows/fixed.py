# lossdoctor-expect:
# source: https://github.com/circleAhn/TESLA-tf/issues/1
# fix: drop the rows with a missing reading before splitting, as the authors' preprocessing does
# ruff: noqa: E501
"""Calibrating low-cost air-quality sensors against a reference station (SensEURCity-style table:
electrochemical readings, temperature, humidity -> reference NO2) with a small regressor; the
table was built by hand some sensor readings are missing; fixed: those rows are dropped."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

n_rows = 3000
readings = torch.randn(n_rows, 6)
temperature_humidity = torch.randn(n_rows, 2)
features = torch.cat([readings, temperature_humidity], dim=1)
reference_no2 = (readings[:, 0] - 0.5 * readings[:, 1] + 0.3 * readings[:, 0] * temperature_humidity[:, 0]
                 + 0.1 * torch.randn(n_rows)).unsqueeze(1)

missing = torch.rand(n_rows, 8) < 0.01
features[missing] = float("nan")

complete = ~torch.isnan(features).any(dim=1)
features, reference_no2 = features[complete], reference_no2[complete]
split = int(0.8 * len(features))
train_loader = DataLoader(TensorDataset(features[:split], reference_no2[:split]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(features[split:], reference_no2[split:]), batch_size=300)

model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(loss_fn(model(x), y).item() * len(x) for x, y in val_loader) / len(val_loader.dataset)
    print(f"epoch {epoch} train loss {loss.item():.4f} val loss {val_loss:.4f}")
