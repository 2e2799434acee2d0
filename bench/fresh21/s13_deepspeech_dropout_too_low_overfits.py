# lossdoctor-expect: overfitting
"""A port to PyTorch of DeepSpeech's early acoustic model (three feed-forward layers with a
clipped ReLU, min(relu(x), 20), and dropout on each, a bidirectional recurrent layer, a fifth
feed-forward layer, the output layer) trained with Adam for many epochs on a small corpus,
in the idiom of https://github.com/mozilla/DeepSpeech/issues/346 (TensorFlow there; the
utterance-level word label here stands for the CTC transcript).
Bug (the issue): with dropout 20% "training WER was 6.16%, validation 37.32%": the model
memorizes the small training set; the large gap between training and validation means the
dropout is too low, and the issue's action is to raise it (to 40%; it had been doubled each
time it was found too low)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
FRAMES, FEATURES, N_WORDS, HIDDEN = 30, 26, 12, 128
prototypes = torch.randn(N_WORDS, FRAMES, FEATURES)


def make(n):
    words = torch.randint(0, N_WORDS, (n,))
    return 0.5 * prototypes[words] + torch.randn(n, FRAMES, FEATURES), words


x_train, y_train = make(240)
x_dev, y_dev = make(240)


def clipped_relu(x):
    return torch.clamp(F.relu(x), max=20.0)


class BiRNN(nn.Module):
    def __init__(self, dropout=0.2):
        super().__init__()
        self.h1 = nn.Linear(FEATURES, HIDDEN)
        self.h2 = nn.Linear(HIDDEN, HIDDEN)
        self.h3 = nn.Linear(HIDDEN, HIDDEN)
        self.rnn = nn.GRU(HIDDEN, HIDDEN, batch_first=True, bidirectional=True)
        self.h5 = nn.Linear(2 * HIDDEN, HIDDEN)
        self.out = nn.Linear(HIDDEN, N_WORDS)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.dropout(clipped_relu(self.h1(x)))
        x = self.dropout(clipped_relu(self.h2(x)))
        x = self.dropout(clipped_relu(self.h3(x)))
        x, _ = self.rnn(x)
        x = self.dropout(clipped_relu(self.h5(x.mean(1))))
        return self.out(x)


model = BiRNN(dropout=0.2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(40):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 16):
        idx = perm[i:i + 16]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        train_loss = F.cross_entropy(model(x_train), y_train).item()
        dev_loss = F.cross_entropy(model(x_dev), y_dev).item()
    print(f"epoch {epoch}: training loss {train_loss:.3f} validation loss {dev_loss:.3f}")
