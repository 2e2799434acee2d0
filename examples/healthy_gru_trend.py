# lossdoctor-expect:
"""Healthy: a GRU tells rising from falling sensor traces; it clears gradients by p.grad = None."""
# lossdoctor-family: sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
LENGTH = 24


def traces(n):
    """Standardized noisy traces with a small upward or downward drift."""
    rising = torch.randint(0, 2, (n,))
    slope = (2 * rising - 1).float().unsqueeze(1) * torch.linspace(-1, 1, LENGTH)
    x = 0.6 * slope + torch.randn(n, LENGTH)
    return x.unsqueeze(-1), rising


class TrendGRU(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x):
        _, last = self.gru(x)
        return self.head(last[-1])


x_train, y_train = traces(2000)
x_val, y_val = traces(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = TrendGRU()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(8):
    model.train()
    for xb, yb in train_loader:
        for p in model.parameters():
            p.grad = None
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
