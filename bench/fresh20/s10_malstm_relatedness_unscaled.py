# lossdoctor-expect: unscaled_targets
"""A Manhattan LSTM (MaLSTM) for sentence relatedness, in the idiom of fionn-mac/Manhattan-LSTM
(https://github.com/fionn-mac/Manhattan-LSTM/issues/4): one shared embedding + LSTM encodes both
sentences of a pair (custom collate_fn padding each batch), the similarity is
exp(-||h1 - h2||_1), in (0, 1], trained with MSE against the pair's relatedness score, Adadelta
with gradients clipped at norm 1.25; train and validation from torch.utils.data.random_split.
Bug (the issue): the SICK relatedness scores, 1 to 5, are fed as they are; the paper scales
them to [0, 1], the only range exp(-L1) can reach, so the fit stops far from the targets.
Synthetic pairs: relatedness is how many of five topic words the two sentences share."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(0)
VOCAB, PAD = 60, 0


class PairDataset(Dataset):
    def __init__(self, n):
        self.items = []
        for _ in range(n):
            topic = torch.randint(1, 21, (5,))
            shared = int(torch.randint(0, 5, (1,)))
            other = torch.randint(21, VOCAB, (5,))
            s1 = torch.cat([topic, torch.randint(21, VOCAB, (2,))])
            s2 = torch.cat([topic[:shared], other[shared:], torch.randint(21, VOCAB, (2,))])
            score = 1.0 + shared
            self.items.append((s1[torch.randperm(len(s1))], s2[torch.randperm(len(s2))], score))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate_fn(batch):
    def pad(seqs):
        out = torch.full((len(seqs), max(len(s) for s in seqs)), PAD)
        for i, s in enumerate(seqs):
            out[i, :len(s)] = s
        return out
    s1, s2, score = zip(*batch, strict=True)
    return pad(s1), pad(s2), torch.tensor(score)


class Manhattan_LSTM(nn.Module):
    def __init__(self, hidden_size=24):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 16, padding_idx=PAD)
        self.lstm = nn.LSTM(16, hidden_size, batch_first=True)

    def encode(self, s):
        _, (h, _) = self.lstm(self.embedding(s))
        return h[-1]

    def forward(self, s1, s2):
        return torch.exp(-torch.sum(torch.abs(self.encode(s1) - self.encode(s2)), dim=1))


dataset = PairDataset(800)
train_set, val_set = random_split(dataset, [640, 160], generator=torch.Generator().manual_seed(1))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True, collate_fn=collate_fn)
val_loader = DataLoader(val_set, batch_size=64, collate_fn=collate_fn)
model = Manhattan_LSTM()
criterion = nn.MSELoss()
optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)

for epoch in range(12):
    model.train()
    print_loss_total = 0.0
    for s1, s2, score in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(s1, s2), score)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.25)
        optimizer.step()
        print_loss_total += loss.item()
    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(a, b), s).item() for a, b, s in val_loader)
        val_loss /= len(val_loader)
    print(f"epoch {epoch + 1} train_loss {print_loss_total / len(train_loader):.4f} "
          f"val_loss {val_loss:.4f}")
