# lossdoctor-expect:
"""Healthy: a two-layer GELU transformer learns whether token A comes before token B."""
# lossdoctor-family: transformer

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, LENGTH, A, B = 10, 12, 1, 2


def token_sequences(n):
    """Filler tokens with one A and one B at random places; label 1 when A comes first."""
    tokens = torch.randint(3, VOCAB, (n, LENGTH))
    places = torch.rand(n, LENGTH).argsort(dim=1)[:, :2]
    rows = torch.arange(n)
    tokens[rows, places[:, 0]] = A
    tokens[rows, places[:, 1]] = B
    return tokens, (places[:, 0] < places[:, 1]).long()


class OrderTransformer(nn.Module):
    def __init__(self, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        self.position = nn.Parameter(0.1 * torch.randn(LENGTH, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 2)

    def forward(self, tokens):
        hidden = self.encoder(self.embed(tokens) + self.position)
        return self.head(self.norm(hidden.mean(dim=1)))


x_train, y_train = token_sequences(2000)
x_val, y_val = token_sequences(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = OrderTransformer()
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
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
