# lossdoctor-expect: exploding_gradients
"""Broken: an identity-initialized ReLU RNN (IRNN) trained without gradient clipping."""
# lossdoctor-family: sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
LENGTH = 30


def sequences(n):
    """Sensor traces; the target is the mean of the first ten readings (long memory)."""
    x = torch.randn(n, LENGTH, 1)
    return x, x[:, :10, 0].mean(dim=1, keepdim=True) * 3


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, 32, nonlinearity="relu", batch_first=True)
        nn.init.eye_(self.rnn.weight_hh_l0)  # the IRNN recipe: identity recurrence
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


x_train, y_train = sequences(800)
x_val, y_val = sequences(300)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = Forecaster()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
criterion = nn.MSELoss()

for epoch in range(5):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
