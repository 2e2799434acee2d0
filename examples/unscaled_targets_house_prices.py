# lossdoctor-expect: unscaled_targets
"""House prices in dollars (~200,000) regressed with MSELoss on raw targets: the loss stays flat."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

# Six standardized house features (size, rooms, age, ...); the price depends on them smoothly.
features = torch.randn(2000, 6)
weights = torch.tensor([40_000.0, 15_000.0, -10_000.0, 8_000.0, 0.0, 5_000.0])
prices = 220_000 + features @ weights + 20_000 * torch.tanh(features[:, 0] * features[:, 1])
prices = (prices + 5_000 * torch.randn(2000)).unsqueeze(1)

train_loader = DataLoader(TensorDataset(features[:1600], prices[:1600]), batch_size=32,
                          shuffle=True)
val_loader = DataLoader(TensorDataset(features[1600:], prices[1600:]), batch_size=200)

model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
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
        val_loss = sum(loss_fn(model(x), y).item() * len(y) for x, y in val_loader) / 400
    print(f"epoch {epoch + 1:2d}  val MSE {val_loss:,.0f}")
