# lossdoctor-expect: frozen_params
"""Broken: the optimizer gets only fc2's parameters, so fc1 keeps its random weights."""
# lossdoctor-family: mlp

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

x = torch.randn(3000, 10)
directions = torch.randn(10, 2)
projected = x @ directions
y = (projected[:, 0] > 0).long() * 2 + (projected[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(x[:2500], y[:2500]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[2500:], y[2500:]), batch_size=250)
criterion = nn.CrossEntropyLoss()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 64)
        self.fc2 = nn.Linear(64, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


model = Net()
optimizer = torch.optim.Adam(model.fc2.parameters(), lr=3e-3)

for epoch in range(10):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val = sum(criterion(model(xb), yb).item() * len(yb) for xb, yb in val_loader) / 500
    print(f"epoch {epoch:2d} val_loss {val:.4f}")
