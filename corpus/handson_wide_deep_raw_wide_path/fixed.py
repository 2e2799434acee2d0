# lossdoctor-expect:
# source: https://github.com/ageron/handson-ml3/pull/20
# fix: concatenate the normalized input with the deep path's output
# ruff: noqa: E501
"""The book's first wide & deep regressor on California housing (a Normalization layer, two dense
layers of 30 ReLU units, concatenate, one output; Adam lr 1e-3, MSE), ported to PyTorch, on
housing-like synthetic rows; fixed: the wide path concatenates the normalized input."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(42)

n = 2200
med_inc = torch.distributions.LogNormal(1.2, 0.45).sample((n,))
house_age = torch.randint(1, 53, (n,)).float()
ave_rooms = torch.distributions.LogNormal(1.6, 0.25).sample((n,))
ave_bedrms = 1.0 + 0.1 * torch.randn(n).abs()
population = torch.distributions.LogNormal(7.0, 0.7).sample((n,))
ave_occup = torch.distributions.LogNormal(1.0, 0.3).sample((n,))
latitude = 32.5 + 9.5 * torch.rand(n)
longitude = -124.3 + 10 * torch.rand(n)
X = torch.stack([med_inc, house_age, ave_rooms, ave_bedrms, population, ave_occup, latitude, longitude], 1)
coastal = torch.exp(-((longitude + 122) ** 2) / 4)
y = (0.45 * med_inc + 0.01 * house_age + 0.8 * coastal - 0.05 * ave_occup + 0.1 * torch.randn(n)).clamp(0.15, 5.0)
y = y.unsqueeze(1)

X_train, y_train, X_valid, y_valid = X[:1800], y[:1800], X[1800:], y[1800:]
train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)


class Normalization(nn.Module):
    def __init__(self, data):
        super().__init__()
        self.register_buffer("mean", data.mean(dim=0))
        self.register_buffer("std", data.std(dim=0))

    def forward(self, x):
        return (x - self.mean) / self.std


class WideAndDeep(nn.Module):
    def __init__(self, train_data):
        super().__init__()
        self.normalization_layer = Normalization(train_data)
        self.hidden_layer1 = nn.Sequential(nn.Linear(8, 30), nn.ReLU())
        self.hidden_layer2 = nn.Sequential(nn.Linear(30, 30), nn.ReLU())
        self.output_layer = nn.Linear(30 + 8, 1)

    def forward(self, input_):
        normalized = self.normalization_layer(input_)
        hidden1 = self.hidden_layer1(normalized)
        hidden2 = self.hidden_layer2(hidden1)
        concat = torch.cat([normalized, hidden2], dim=1)
        return self.output_layer(concat)


model = WideAndDeep(X_train)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
mse = nn.MSELoss()

for epoch in range(12):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = mse(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = mse(model(X_valid), y_valid).item()
    print(f"Epoch {epoch + 1}/12 - loss: {loss.item():.4f} - val_loss: {val_loss:.4f}")
