# lossdoctor-expect: lr_too_low
# source: https://github.com/Smadx/USTC-ML24-Fall/issues/47
# answer: after normalizing the features the loss stopped decreasing because the learning rate is too small; raise it
# ruff: noqa: E501
"""Lab 1, part 1 (linear regression trained by gradient descent): with raw features the loss fell
slowly; the student then standardized the features, kept the small learning rate tuned for the
raw scale, and the loss no longer moves."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

n_rows, n_features = 2000, 10
raw = torch.rand(n_rows, n_features) * torch.logspace(0, 2, n_features)
weights = torch.randn(n_features)
target = raw @ (weights / torch.logspace(0, 2, n_features)) + 0.1 * torch.randn(n_rows)

mean, std = raw[:1600].mean(dim=0), raw[:1600].std(dim=0)
features = (raw - mean) / std
train_loader = DataLoader(TensorDataset(features[:1600], target[:1600, None]), batch_size=32, shuffle=True)
test_x, test_y = features[1600:], target[1600:, None]

model = nn.Linear(n_features, 1)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-5)

for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        test_loss = criterion(model(test_x), test_y).item()
    print(f"epoch {epoch} train loss {loss.item():.4f} test loss {test_loss:.4f}")
