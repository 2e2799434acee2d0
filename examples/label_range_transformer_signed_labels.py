# lossdoctor-expect: label_range
"""Label range: a sentiment transformer's labels are -1 and +1, fed to BCEWithLogitsLoss."""
# lossdoctor-family: transformer

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, LENGTH, GOOD, BAD = 12, 16, 1, 2  # token 1 is "great", token 2 is "awful"


def reviews(n):
    """Random reviews; the label is +1 when "great" outnumbers "awful", else -1."""
    tokens = torch.randint(0, VOCAB, (3 * n, LENGTH))
    good, bad = (tokens == GOOD).sum(dim=1), (tokens == BAD).sum(dim=1)
    keep = (good != bad).nonzero().flatten()[:n]
    return tokens[keep], torch.where(good[keep] > bad[keep], 1.0, -1.0)


class SentimentTransformer(nn.Module):
    def __init__(self, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64,
                                           dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(d_model, 1)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1)).squeeze(-1)


x_train, y_train = reviews(2000)
x_val, y_val = reviews(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = SentimentTransformer()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()

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
