# lossdoctor-expect:
"""An LSTM 'hourglass' autoencoder over sliding windows of ten sensor tags, in the idiom of
equinor/gordo's KerasLSTMAutoEncoder (https://github.com/equinor/gordo/issues/430): a pipeline
MinMax-scales the inputs (lookback_window=10), the model encodes each window with an LSTM
and a narrower layer, and a linear Dense layer predicts all ten tags of the window's last
step (multi-output regression), MSE, Adam.
Fixed twin of s05 (the answer applied); the bug was: the targets y are the raw tags, here in
units of 0-100, while only X is scaled;
the same model on tags in 0-1 fits well, on 0-100 its loss is thousands of times larger and
stays far from the fit. The answer: wrap the model so y is MinMax-scaled too
(sklearn's TransformedTargetRegressor)."""

import torch
import torch.nn as nn

torch.manual_seed(0)
LOOKBACK = 10
t = torch.arange(700, dtype=torch.float32)
phase = torch.rand(10) * 6.28
period = 20 + 30 * torch.rand(10)
raw = 50 + 40 * torch.sin(t[:, None] * 6.28 / period + phase) + 3 * torch.randn(700, 10)
split = 520
lo, hi = raw[:split].min(0).values, raw[:split].max(0).values
X_scaled = (raw - lo) / (hi - lo)
y = X_scaled  # the answer: scale y as X is

windows = torch.stack([X_scaled[i:i + LOOKBACK] for i in range(len(raw) - LOOKBACK + 1)])
targets = y[LOOKBACK - 1:]
n_train = split - LOOKBACK + 1
x_train, y_train = windows[:n_train], targets[:n_train]
x_val, y_val = windows[n_train:], targets[n_train:]


class LSTMHourglass(nn.Module):
    def __init__(self, n_features=10):
        super().__init__()
        self.enc = nn.LSTM(n_features, 16, batch_first=True)
        self.bottleneck = nn.Linear(16, 8)
        self.out = nn.Linear(8, n_features)

    def forward(self, x):
        h, _ = self.enc(x)
        return self.out(torch.tanh(self.bottleneck(h[:, -1])))


model = LSTMHourglass()
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
loss_fn = nn.MSELoss()
for epoch in range(8):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 32):
        idx = perm[i:i + 32]
        optimizer.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        train_loss = loss_fn(model(x_train), y_train).item()
        val_loss = loss_fn(model(x_val), y_val).item()
    print(f"epoch {epoch + 1} loss {train_loss:.4f} val_loss {val_loss:.4f}")
