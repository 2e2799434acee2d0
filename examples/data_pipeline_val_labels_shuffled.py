# lossdoctor-expect: data_pipeline, no_signal
"""Broken: the validation sequences were shuffled without their labels."""
# lossdoctor-family: sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
LENGTH = 40
MOTIF = torch.tensor([1.0, -1.0, 1.0, 1.0])


def sequences(n):
    """Noisy traces; half of them hide the motif somewhere."""
    x = 0.5 * torch.randn(n, 1, LENGTH)
    label = torch.randint(0, 2, (n,))
    for i in torch.nonzero(label).flatten().tolist():
        start = torch.randint(0, LENGTH - len(MOTIF), (1,)).item()
        x[i, 0, start:start + len(MOTIF)] += 1.5 * MOTIF
    return x, label


x_train, y_train = sequences(1500)
x_val, y_val = sequences(400)
x_val = x_val[torch.randperm(len(x_val))]  # "shuffle the validation set" - inputs only

model = nn.Sequential(nn.Conv1d(1, 16, 4, padding=2), nn.ReLU(), nn.AdaptiveMaxPool1d(1),
                      nn.Flatten(), nn.Linear(16, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

for epoch in range(6):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(F.cross_entropy(model(xb), yb).item() for xb, yb in val_loader) / 2
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
