# lossdoctor-expect: shape_broadcast
"""Shape broadcast: a GRU forecasts the next reading as (N, 1) against (N,) targets in MSELoss."""
# lossdoctor-family: sequence

import warnings

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

warnings.filterwarnings("ignore", message="Using a target size")  # "just a warning"
torch.manual_seed(0)
LENGTH = 20


def waves(n):
    """Noisy sine waves of random phase and frequency; the target is the next, clean value."""
    t = torch.arange(LENGTH + 1).float()
    phase, freq = 6.28 * torch.rand(n, 1), 0.2 + 0.4 * torch.rand(n, 1)
    clean = torch.sin(freq * t + phase)
    x = clean[:, :LENGTH] + 0.1 * torch.randn(n, LENGTH)
    return x.unsqueeze(-1), clean[:, LENGTH]


class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        _, last = self.gru(x)
        return self.head(last[-1])  # (N, 1)


x_train, y_train = waves(2000)
x_val, y_val = waves(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = Forecaster()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
criterion = nn.MSELoss()

for epoch in range(6):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
