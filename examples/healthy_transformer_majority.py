# lossdoctor-expect:
"""Healthy: a one-layer transformer tells which of two tokens is more frequent; nothing is wrong."""
# lossdoctor-family: transformer
# lossdoctor-zoo: fast

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, LENGTH = 8, 16


def token_sequences(n):
    """Random token sequences; the label says whether token 1 occurs more often than token 2."""
    tokens = torch.randint(0, VOCAB, (3 * n, LENGTH))
    ones, twos = (tokens == 1).sum(dim=1), (tokens == 2).sum(dim=1)
    keep = (ones != twos).nonzero().flatten()[:n]
    return tokens[keep], (ones[keep] > twos[keep]).long()


class MajorityTransformer(nn.Module):
    def __init__(self, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64,
                                           dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(d_model, 2)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


x_train, y_train = token_sequences(2000)
x_val, y_val = token_sequences(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = MajorityTransformer()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
criterion = nn.CrossEntropyLoss()

for epoch in range(8):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(xb), yb).item() for xb, yb in val_loader) / len(val_loader)
    print(f"epoch {epoch}: val loss {val_loss:.4f}")
