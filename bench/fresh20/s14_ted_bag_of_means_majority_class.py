# lossdoctor-expect: class_imbalance
"""TED talk topic classification from a bag of means of word vectors, in the idiom of
oxford-cs-deepnlp-2017/practical-2 (https://github.com/oxford-cs-deepnlp-2017/practical-2/issues/2):
each talk is the mean of its words' pretrained (frozen) word2vec vectors (padding masked out in a
custom collate_fn), one tanh hidden layer, eight labels (the combinations of Technology,
Entertainment, Design; 'ooo' is none of them), cross-entropy, SGD, a validation set.
Bug (the thread's answer): the labels are very unbalanced, 'ooo' is 54% of the talks, so the
network predicts 'ooo' for everything and sits at 54% accuracy on training and test alike. The
poster then balanced the batches (equal counts per class) and the training accuracy rose.
Synthetic talks: topic words for each of T, E, D among common words."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
VOCAB, DIM, PAD = 400, 50, 0
PRIORS = torch.tensor([0.016, 0.017, 0.069, 0.183, 0.011, 0.081, 0.079, 0.544])  # ... 'ooo'
BITS = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 1], [1, 0, 0],
                     [0, 1, 1], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
word2vec = torch.randn(VOCAB, DIM)
word2vec[PAD] = 0


class TedTalks(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.multinomial(PRIORS, n, replacement=True, generator=g)
        self.talks = []
        for lab in self.labels:
            length = int(torch.randint(40, 80, (1,), generator=g))
            words = torch.randint(40, VOCAB, (length,), generator=g)
            for k in range(3):
                if BITS[lab, k]:
                    words[:2] = torch.randint(1 + 13 * k, 14 + 13 * k, (2,), generator=g)
                    words = words[torch.randperm(len(words), generator=g)]
            self.talks.append(words)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.talks[i], self.labels[i]


def collate_fn(batch):
    talks, labels = zip(*batch, strict=True)
    ids = torch.full((len(talks), max(len(t) for t in talks)), PAD)
    for i, t in enumerate(talks):
        ids[i, :len(t)] = t
    return ids, torch.stack(labels)


class BagOfMeans(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding.from_pretrained(word2vec, freeze=True, padding_idx=PAD)
        self.hidden = nn.Linear(DIM, 32)
        self.out = nn.Linear(32, 8)

    def forward(self, ids):
        mask = (ids != PAD).float().unsqueeze(-1)
        x = (self.emb(ids) * mask).sum(1) / mask.sum(1)
        return self.out(torch.tanh(self.hidden(x)))


train_loader = DataLoader(TedTalks(1585, 1), batch_size=50, shuffle=True, collate_fn=collate_fn)
valid_loader = DataLoader(TedTalks(250, 2), batch_size=50, collate_fn=collate_fn)
model = BagOfMeans()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(8):
    model.train()
    total = 0.0
    for ids, y in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(ids), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        val_loss, correct = 0.0, 0
        for ids, y in valid_loader:
            logits = model(ids)
            val_loss += loss_fn(logits, y).item()
            correct += (logits.argmax(1) == y).sum().item()
    print(f"epoch {epoch + 1} train_loss {total / len(train_loader):.4f} "
          f"val_loss {val_loss / len(valid_loader):.4f} val_acc {correct / 250:.3f}")
