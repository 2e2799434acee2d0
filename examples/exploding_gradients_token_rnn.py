# lossdoctor-expect: exploding_gradients
"""Broken: a ReLU RNN over review tokens, identity-initialized, no gradient clipping."""
# lossdoctor-family: sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, LENGTH = 50, 40


def reviews(n):
    """Token sequences; positive when "great" (token 1) outnumbers "awful" (token 2)."""
    tokens = torch.randint(3, VOCAB, (n, LENGTH))
    mask = torch.rand(n, LENGTH)
    tokens[mask < 0.1] = 1
    tokens[(mask >= 0.1) & (mask < 0.2)] = 2
    positive = ((tokens == 1).sum(dim=1) > (tokens == 2).sum(dim=1)).long()
    return tokens, positive


class Sentiment(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16)
        self.rnn = nn.RNN(16, 32, nonlinearity="relu", batch_first=True)
        nn.init.eye_(self.rnn.weight_hh_l0)
        self.head = nn.Linear(32, 2)

    def forward(self, tokens):
        out, _ = self.rnn(self.embed(tokens))
        return self.head(out[:, -1])


x_train, y_train = reviews(1000)
x_val, y_val = reviews(300)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=150)

model = Sentiment()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(5):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch + 1}: validation loss {val_loss:.4f}")
