# lossdoctor-expect: nan_inf
"""NaN/inf: a transformer regresses log(keyword count); no keyword gives a -inf target."""
# lossdoctor-family: transformer

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
VOCAB, LENGTH, KEYWORD = 16, 16, 3


def token_sequences(n):
    """Random token sequences; the target is the log of the keyword's count."""
    tokens = torch.randint(0, VOCAB, (n, LENGTH))
    return tokens, torch.log((tokens == KEYWORD).sum(dim=1).float())


class CountTransformer(nn.Module):
    def __init__(self, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64,
                                           dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(d_model, 1)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1)).squeeze(-1)


x_train, y_train = token_sequences(2000)
x_val, y_val = token_sequences(400)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=200)

model = CountTransformer()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.MSELoss()

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
