# lossdoctor-expect: vanishing_gradients
"""Vanishing gradients: eight stacked sigmoid Conv1d layers; the first ones never learn a motif."""
# lossdoctor-family: sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
LENGTH = 32
MOTIF = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])


def sequences(n):
    """Noisy sequences; half of them hide the motif at a random position."""
    x = 0.5 * torch.randn(n, 1, LENGTH)
    has_motif = torch.randint(0, 2, (n,))
    for i in torch.nonzero(has_motif).flatten().tolist():
        start = torch.randint(0, LENGTH - len(MOTIF), (1,)).item()
        x[i, 0, start:start + len(MOTIF)] += 1.5 * MOTIF
    return x, has_motif


layers = [nn.Conv1d(1, 16, kernel_size=3, padding=1), nn.Sigmoid()]
for _ in range(7):
    layers += [nn.Conv1d(16, 16, kernel_size=3, padding=1), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(16, 2))

x_train, y_train = sequences(2000)
x_val, y_val = sequences(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
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
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
