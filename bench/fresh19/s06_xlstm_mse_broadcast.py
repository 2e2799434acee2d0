# lossdoctor-expect: shape_broadcast
"""Next-value forecasting of a noisy sine wave in the style of andrewgcodes/xlstm's example
(an LSTM over one sequence at a time, unbatched input (seq_len, features), a Linear head on every
step, criterion = nn.MSELoss(), Adam, loss summed over the samples of an epoch).
Bug (andrewgcodes/xlstm#4: 'y_pred, y_true shape are different ... UserWarning: Using a target
size (torch.Size([1, 1])) that is different to the input size (torch.Size([10, 1]))'): the model
returns one prediction per step (10, 1) and the loss broadcasts the one target against all of
them. The poster's fix: compare the prediction of the last step only."""

import math

import torch
import torch.nn as nn

torch.manual_seed(0)
SEQ_LEN = 10
t = torch.arange(0, 1400, dtype=torch.float32)
series = torch.sin(2 * math.pi * t / 37) * (1 + 0.3 * torch.sin(2 * math.pi * t / 211))
series = series + 0.05 * torch.randn_like(series)
xs = torch.stack([series[i:i + SEQ_LEN] for i in range(len(series) - SEQ_LEN)]).unsqueeze(-1)
ys = series[SEQ_LEN:].view(-1, 1, 1)
split = 1000
x_train, y_train, x_test, y_test = xs[:split], ys[:split], xs[split:], ys[split:]


class SLSTM(nn.Module):
    def __init__(self, input_size=1, hidden_size=32):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out)


model = SLSTM()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)

for epoch in range(5):
    model.train()
    loss_sum = 0.0
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 8):
        optimizer.zero_grad()
        loss = 0
        for j in perm[i:i + 8]:
            y_pred = model(x_train[j])
            y_true = y_train[j]
            loss += criterion(y_pred, y_true)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item()
    model.eval()
    with torch.no_grad():
        test_loss = sum(criterion(model(x), y).item() for x, y in zip(x_test, y_test, strict=True))
    print(f"Epoch {epoch + 1}, train_loss: {loss_sum / len(x_train):.4f}, "
          f"val_loss: {test_loss / len(x_test):.4f}")
