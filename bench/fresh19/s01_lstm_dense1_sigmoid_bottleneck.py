# lossdoctor-expect: underfit_capacity
"""An LSTM text classifier written the way keras-team/keras#1895's and #4994's posters wrote
theirs in Keras, ported to PyTorch: Embedding -> LSTM -> Dense(1) -> sigmoid -> Dense(n_classes)
-> softmax, trained with binary cross-entropy on one-hot labels (Keras' 'binary_crossentropy').
Bug (keras-team/keras#4994, the answer): the Dense(1) layer squeezes the LSTM's state through one
sigmoid unit before the 8-way output: 'having the output dimension of your first Dense layer as
1 is probably not a good idea. Try changing Dense(1) to Dense(20)'."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, SEQ, N_CLASSES = 300, 24, 8
topic_words = torch.arange(N_CLASSES * 6).view(N_CLASSES, 6) + 10


def make_texts(n, g):
    labels = torch.randint(0, N_CLASSES, (n,), generator=g)
    tokens = torch.randint(60, VOCAB, (n, SEQ), generator=g)
    for row, label in enumerate(labels):
        spots = torch.randperm(SEQ, generator=g)[:4]
        tokens[row, spots] = topic_words[label][torch.randint(0, 6, (4,), generator=g)]
    return tokens, labels


g = torch.Generator().manual_seed(1)
train_x, train_y = make_texts(2000, g)
dev_x, dev_y = make_texts(500, g)
train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=30, shuffle=True)
dev_loader = DataLoader(TensorDataset(dev_x, dev_y), batch_size=100)


class LSTMClassifier(nn.Module):
    def __init__(self, lstm_output_dim=64):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 32)
        self.lstm = nn.LSTM(32, lstm_output_dim, batch_first=True)
        self.dense1 = nn.Linear(lstm_output_dim, 1)
        self.dense2 = nn.Linear(1, N_CLASSES)

    def forward(self, x):
        _, (h, _) = self.lstm(self.embedding(x))
        x = torch.sigmoid(self.dense1(h[-1]))
        return F.softmax(self.dense2(x), dim=1)


model = LSTMClassifier()
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.003)

for epoch in range(10):
    model.train()
    total = 0.0
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), F.one_hot(y, N_CLASSES).float())
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
    model.eval()
    val, correct = 0.0, 0
    with torch.no_grad():
        for x, y in dev_loader:
            out = model(x)
            val += criterion(out, F.one_hot(y, N_CLASSES).float()).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
    print(f"epoch {epoch + 1} loss {total / len(train_y):.4f} val_loss {val / len(dev_y):.4f} "
          f"val_acc {correct / len(dev_y):.3f}")
