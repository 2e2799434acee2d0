# lossdoctor-expect: lr_too_high
# source: https://github.com/rajveermalviya/language-modeling/issues/3
# answer: the loss does not really go down because the config sets a learning rate of 1.0; with Adam's default 0.001 training is much better
# ruff: noqa: E501
"""A word-level LSTM language model (embedding, LSTM, softmax over the vocabulary, cross entropy)
trained with Adam at the config file's learning rate of 1.0, on a synthetic corpus drawn from a
Markov chain over 60 words."""

import torch
from torch import nn

torch.manual_seed(0)

vocab, seq_len, batch_size = 60, 25, 32
transition = torch.softmax(3 * torch.randn(vocab, vocab), dim=1)


def corpus(length):
    tokens = torch.zeros(length, dtype=torch.long)
    for i in range(1, length):
        tokens[i] = torch.multinomial(transition[tokens[i - 1]], 1)
    return tokens


def windows(tokens):
    n = (len(tokens) - 1) // seq_len
    x = tokens[: n * seq_len].view(n, seq_len)
    y = tokens[1: n * seq_len + 1].view(n, seq_len)
    return x, y


train_x, train_y = windows(corpus(20000))
val_x, val_y = windows(corpus(3000))


class LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.decoder = nn.Linear(64, vocab)

    def forward(self, tokens):
        hidden, _ = self.lstm(self.embedding(tokens))
        return self.decoder(hidden)


model = LanguageModel()
optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    order = torch.randperm(len(train_x))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = criterion(model(train_x[idx]).reshape(-1, vocab), train_y[idx].reshape(-1))
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(val_x).reshape(-1, vocab), val_y.reshape(-1)).item()
    print(f"epoch {epoch} loss {loss.item():.3f} val loss {val_loss:.3f}")
