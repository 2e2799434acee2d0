# lossdoctor-expect:
"""Healthy: a small 1-D CNN that spots a motif in noisy sequences; nothing is wrong."""
# lossdoctor-family: sequence
# lossdoctor-zoo: fast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
LENGTH = 48
MOTIF = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])


def sequences(n):
    """Noisy sequences; half of them hide the motif at a random position."""
    x = 0.5 * torch.randn(n, 1, LENGTH)
    has_motif = torch.randint(0, 2, (n,))
    for i in torch.nonzero(has_motif).flatten().tolist():
        start = torch.randint(0, LENGTH - len(MOTIF), (1,)).item()
        x[i, 0, start:start + len(MOTIF)] += 1.5 * MOTIF
    return x, has_motif


class MotifNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 16, kernel_size=5, padding=2)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        features = F.relu(self.conv(x)).amax(dim=2)
        return self.head(features)


x_train, y_train = sequences(2000)
x_val, y_val = sequences(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = MotifNet()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

for epoch in range(8):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(F.cross_entropy(model(xb), yb, reduction="sum").item()
                       for xb, yb in val_loader) / len(x_val)
    print(f"epoch {epoch}: val_loss={val_loss:.4f}")
