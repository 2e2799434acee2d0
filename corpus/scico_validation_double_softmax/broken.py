# lossdoctor-expect: validation_path
# source: https://github.com/ariecattan/SciCo/issues/2
# answer: validation softmaxes the logits into probabilities before CrossEntropyLoss, which softmaxes again, so validation loss sticks near 1.0; pass the logits
# ruff: noqa: E501
"""A four-way pair classifier (not related / coreferent / parent / child) over mention-pair
embeddings; training feeds logits to CrossEntropyLoss, but the validation step feeds the
softmaxed probabilities, as the repository's multiclass model did."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)

dim = 32
n_pairs = 3000
first, second = torch.randn(n_pairs, dim), torch.randn(n_pairs, dim)
relation = torch.randn(4, dim)
scores = (first * second) @ relation.T + 0.3 * torch.randn(n_pairs, 4)
labels = scores.argmax(dim=1)
pairs = torch.cat([first, second, first * second], dim=1)

train_loader = DataLoader(TensorDataset(pairs[:2400], labels[:2400]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(pairs[2400:], labels[2400:]), batch_size=128)


class MulticlassCrossEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(3 * dim, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 4))

    def forward(self, pair):
        return self.mlp(pair)


model = MulticlassCrossEncoder()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(10):
    model.train()
    for pair, label in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(pair), label)
        loss.backward()
        optimizer.step()

    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for pair, label in val_loader:
            y_pred = torch.softmax(model(pair), dim=1)
            total += criterion(y_pred, label).item() * len(label)
            correct += (y_pred.argmax(dim=1) == label).sum().item()
    print(f"epoch {epoch} val_loss {total / 600:.4f} val_acc {correct / 600:.3f}")
