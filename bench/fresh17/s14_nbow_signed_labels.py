# lossdoctor-expect: label_range
"""Neural bag-of-words sentiment classifier in the shape of bentrevett/pytorch-sentiment-analysis
(1 - Neural Bag of Words): nn.Embedding(padding_idx=pad_index), mean pooling, one linear layer,
a collate_fn that pads, train/evaluate functions returning (mean loss, mean accuracy), the model
with the best valid loss kept. Output dim 1 and BCEWithLogitsLoss, as in the tutorial's first
version. Data: synthetic reviews of 5-30 tokens mixing positive, negative and neutral words.
Bug: the labels come from an SVM-light style file coded -1 / +1 and are fed to BCEWithLogitsLoss
as they are (the 'BCE loss goes negative' threads)."""

import copy

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

torch.manual_seed(1234)
VOCAB, PAD = 200, 0
POS, NEG = range(1, 21), range(21, 41)


def reviews(n, g):
    out = []
    for _ in range(n):
        length = int(torch.randint(5, 31, (1,), generator=g))
        ids = torch.randint(41, VOCAB, (length,), generator=g)
        sentiment = int(torch.randint(0, 2, (1,), generator=g))
        k = max(1, length // 4)
        pool = POS if sentiment else NEG
        ids[:k] = torch.tensor(pool)[torch.randint(0, 20, (k,), generator=g)]
        ids = ids[torch.randperm(length, generator=g)]
        out.append({"ids": ids, "label": 1.0 if sentiment else -1.0})
    return out


def collate(batch):
    ids = nn.utils.rnn.pad_sequence([b["ids"] for b in batch], batch_first=True, padding_value=PAD)
    return {"ids": ids, "label": torch.tensor([b["label"] for b in batch])}


g = torch.Generator().manual_seed(0)
train_loader = DataLoader(reviews(4000, g), batch_size=64, shuffle=True, collate_fn=collate)
valid_loader = DataLoader(reviews(800, g), batch_size=64, collate_fn=collate)


class NBoW(nn.Module):
    def __init__(self, vocab_size, embedding_dim, output_dim, pad_index):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)
        self.fc = nn.Linear(embedding_dim, output_dim)

    def forward(self, ids):
        embedded = self.embedding(ids)
        pooled = embedded.mean(dim=1)
        return self.fc(pooled)


def get_accuracy(prediction, label):
    return ((prediction > 0) == (label > 0)).float().mean()


def train(data_loader, model, criterion, optimizer):
    model.train()
    epoch_losses, epoch_accs = [], []
    for batch in data_loader:
        prediction = model(batch["ids"]).squeeze(1)
        loss = criterion(prediction, batch["label"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch_losses.append(loss.item())
        epoch_accs.append(get_accuracy(prediction, batch["label"]).item())
    return sum(epoch_losses) / len(epoch_losses), sum(epoch_accs) / len(epoch_accs)


def evaluate(data_loader, model, criterion):
    model.eval()
    epoch_losses, epoch_accs = [], []
    with torch.no_grad():
        for batch in data_loader:
            prediction = model(batch["ids"]).squeeze(1)
            epoch_losses.append(criterion(prediction, batch["label"]).item())
            epoch_accs.append(get_accuracy(prediction, batch["label"]).item())
    return sum(epoch_losses) / len(epoch_losses), sum(epoch_accs) / len(epoch_accs)


model = NBoW(VOCAB, 32, 1, PAD)
optimizer = torch.optim.Adam(model.parameters())
criterion = nn.BCEWithLogitsLoss()
best_valid_loss, best_state = float("inf"), None
for epoch in range(10):
    train_loss, train_acc = train(train_loader, model, criterion, optimizer)
    valid_loss, valid_acc = evaluate(valid_loader, model, criterion)
    if valid_loss < best_valid_loss:
        best_valid_loss, best_state = valid_loss, copy.deepcopy(model.state_dict())
    print(f"epoch: {epoch}")
    print(f"train_loss: {train_loss:.3f}, train_acc: {train_acc:.3f}")
    print(f"valid_loss: {valid_loss:.3f}, valid_acc: {valid_acc:.3f}")
