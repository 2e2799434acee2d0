# lossdoctor-expect:
# source: https://github.com/AnubhavGupta3377/Text-Classification-Models-Pytorch/issues/9
# fix: end the model in nn.LogSoftmax so NLLLoss gets log-probabilities
# ruff: noqa: E501
"""The repository's Transformer text classifier (token embeddings + positional encoding, a
Transformer encoder, mean pooling, a linear layer; fixed: nn.LogSoftmax) trained with nn.NLLLoss, on
synthetic four-class token sequences."""

import torch
from torch import nn

torch.manual_seed(0)

vocab, seq_len, n_classes = 200, 24, 4
keywords = torch.arange(n_classes * 5).view(n_classes, 5) + 20


def make_texts(n):
    labels = torch.randint(0, n_classes, (n,))
    texts = torch.randint(20 + n_classes * 5, vocab, (n, seq_len))
    positions = torch.randint(0, seq_len, (n, 3))
    chosen = torch.gather(keywords[labels], 1, torch.randint(0, 5, (n, 3)))
    texts.scatter_(1, positions, chosen)
    return texts, labels


train_x, train_y = make_texts(2000)
val_x, val_y = make_texts(400)


class Transformer(nn.Module):
    def __init__(self, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Parameter(0.02 * torch.randn(1, seq_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead=2, dim_feedforward=64, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.fc = nn.Linear(d_model, n_classes)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, x):
        encoded = self.encoder(self.embed(x) + self.position)
        final_out = self.fc(encoded.mean(dim=1))
        return self.softmax(final_out)


model = Transformer()
loss_fn = nn.NLLLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)

for epoch in range(4):
    model.train()
    order = torch.randperm(len(train_x))
    for start in range(0, len(order), 32):
        idx = order[start:start + 32]
        optimizer.zero_grad()
        loss = loss_fn(model(train_x[idx]), train_y[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        probabilities = model(val_x)
        val_loss = loss_fn(probabilities, val_y).item()
        val_acc = (probabilities.argmax(1) == val_y).float().mean().item()
    print(f"epoch {epoch} train loss {loss.item():.4f} val loss {val_loss:.4f} val acc {val_acc:.3f}")
