# lossdoctor-expect: train_val_shift
"""datascience.stackexchange 44017 (https://datascience.stackexchange.com/questions/44017/difference-in-labelling-and-normalizing-train-test-data):
an LSTM predicts the direction of companies' returns from features of their financial
statements, split by date (the first years train, the last test); the training accuracy beats
the test's with every architecture. The poster labels each set by its own median return and
fits a MinMaxScaler on each set separately. The answer: scale the test data with the bounds
found on the training data and label it by the training median; think of the test samples as
arriving one by one. Here the ratios drift upward over the years and a few companies' jump in
the test years: the test set's own scaler maps the rest onto another part of the range."""

import numpy as np
import torch
import torch.nn as nn
from sklearn.preprocessing import MinMaxScaler

torch.manual_seed(0)
rng = np.random.default_rng(0)
N_COMPANIES, N_QUARTERS, WINDOW = 60, 60, 4

drift = np.linspace(0.0, 0.6, N_QUARTERS)[None, :, None]
ratios = rng.normal(1.0, 0.5, (N_COMPANIES, N_QUARTERS, 3)) + drift
ratios[:3, 45:] *= 4.0  # a few companies whose ratios jump in the last years
returns = 0.04 * (ratios[:, :, 0] - 0.5 * ratios[:, :, 1] - 0.8) \
    + rng.normal(0, 0.01, (N_COMPANIES, N_QUARTERS))


def windows(first, last):
    x, r = [], []
    for q in range(first + WINDOW, last):
        x.append(ratios[:, q - WINDOW:q])
        r.append(returns[:, q - 1])
    return np.concatenate(x), np.concatenate(r)


x_train, r_train = windows(0, 45)
x_test, r_test = windows(45, N_QUARTERS)
y_train = (r_train > np.median(r_train)).astype(np.float32)
y_test = (r_test > np.median(r_test)).astype(np.float32)

scaler = MinMaxScaler(feature_range=(0, 1))
x_train = scaler.fit_transform(x_train.reshape(-1, 3)).reshape(x_train.shape)
test_scaler = MinMaxScaler(feature_range=(0, 1))
x_test = test_scaler.fit_transform(x_test.reshape(-1, 3)).reshape(x_test.shape)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 32, batch_first=True)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.out(h[:, -1]).squeeze(-1)


x_train, y_train = torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train)
x_test, y_test = torch.tensor(x_test, dtype=torch.float32), torch.tensor(y_test)
model = Net()
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(15):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 64):
        idx = perm[i:i + 64]
        loss = criterion(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        train_out, test_out = model(x_train), model(x_test)
        train_acc = ((train_out > 0).float() == y_train).float().mean().item()
        test_loss = criterion(test_out, y_test).item()
        test_acc = ((test_out > 0).float() == y_test).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.4f} acc {train_acc:.3f}  "
          f"val_loss {test_loss:.4f} val_acc {test_acc:.3f}")
