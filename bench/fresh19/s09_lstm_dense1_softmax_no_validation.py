# lossdoctor-expect: loss_mismatch
"""Next-bit prediction of a binary sequence from its 3 previous terms, the Keras model of
stackoverflow.com/questions/46620813 ('Keras LSTM model not learning binary sequence') ported to
PyTorch: LSTM(1) over windows of 3, Dense(1, activation='softmax'), binary cross-entropy,
Adagrad, batches of 256, no validation split (the poster fits on the training sequence only).
Bug (the question's answers): a softmax over a single unit always outputs 1.0 whatever the
input, so the prediction never moves and the loss is constant; one output for a binary label
wants a sigmoid."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
bits = [0, 1, 1]
for _ in range(6000):
    bits.append(bits[-3] ^ bits[-1] if torch.rand(1).item() < 0.95 else 1 - bits[-1])
seq = torch.tensor(bits, dtype=torch.float32)
vecX = torch.stack([seq[i:i + 3] for i in range(len(seq) - 3)]).unsqueeze(-1)
vecY = seq[3:].unsqueeze(-1)


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 1, batch_first=True)
        self.dense = nn.Linear(1, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return torch.softmax(self.dense(out[:, -1, :]), dim=1)


LSTM_net = LSTMNet()
loss_fn = nn.BCELoss()
optimizer = torch.optim.Adagrad(LSTM_net.parameters(), lr=0.01)
loader = DataLoader(TensorDataset(vecX, vecY), batch_size=256, shuffle=True)

for epoch in range(25):
    total, correct = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        pred = LSTM_net(xb)
        loss = loss_fn(pred, yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        correct += ((pred > 0.5).float() == yb).sum().item()
    print(f"Epoch {epoch + 1}/25 - loss: {total / len(vecX):.4f} - acc: {correct / len(vecX):.4f}")
