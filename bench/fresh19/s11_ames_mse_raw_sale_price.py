# lossdoctor-expect: unscaled_targets
"""House-price regression in the style of rstudio-conf-2020/dl-keras-tf's Ames mini-project,
ported to PyTorch: the predictors standardized by a recipe, a dense network, SGD at lr 0.1,
loss 'mean_squared_error', batches of 16, validation_split 0.2.
Bug (rstudio-conf-2020/dl-keras-tf#9, 'train/valid loss = NAN when loss = mean_squared_error due
to exploding values': 'This is probably related to the range of the predicted value (sales
price) which reaches ~755000. When the error gets squared, the sum explodes!'): the target is
the sale price in dollars, regressed unscaled."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(2020)
N, P = 2051, 12
x = torch.randn(N, P)
w = torch.tensor([0.35, 0.2, 0.15, 0.1, 0.08, 0.05, 0.04, 0.03, 0.0, 0.0, 0.0, 0.0])
log_price = 12.0 + x @ w + 0.08 * x[:, 0] * x[:, 1] + 0.1 * torch.randn(N)
sale_price = torch.exp(log_price).unsqueeze(1)

split = int(0.8 * N)
x_train, y_train = x[:split], sale_price[:split]
x_val, y_val = x[split:], sale_price[split:]
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=16, shuffle=True)

model = nn.Sequential(nn.Linear(P, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                      nn.Linear(256, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.MSELoss()

for epoch in range(1, 11):
    model.train()
    total, mae = 0.0, 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        pred = model(xb)
        loss = criterion(pred, yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        mae += (pred - yb).abs().sum().item()
    model.eval()
    with torch.no_grad():
        val_pred = model(x_val)
        val_loss = criterion(val_pred, y_val).item()
        val_mae = (val_pred - y_val).abs().mean().item()
    print(f"Epoch {epoch}/10 - loss: {total / split:.4g} - mae: {mae / split:.4g} "
          f"- val_loss: {val_loss:.4g} - val_mae: {val_mae:.4g}")
