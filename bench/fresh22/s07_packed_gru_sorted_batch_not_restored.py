# lossdoctor-expect: data_pipeline
"""fartashf/vsepp#36 (https://github.com/fartashf/vsepp/pull/36): pack_padded_sequence wants the
batch sorted by length; JoanFM: "I found in my implementation I was sorting but then not getting
the sort back", the embeddings in a batch were mixed up. The maintainer's answer: vsepp sorts
the whole batch (captions and what they pair with) in its collate_fn, so the order stays
matched; sorting only the captions inside the encoder, as here, pairs each output with another
row's target. A GRU text classifier on padded token sequences, the encoder sorting by length
for pack_padded_sequence and returning its outputs in the sorted order."""

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

torch.manual_seed(0)
VOCAB, MAX_LEN, N_CLASSES = 50, 20, 4
class_words = torch.arange(N_CLASSES * 5).view(N_CLASSES, 5) + 1


def make(n):
    labels = torch.randint(0, N_CLASSES, (n,))
    lengths = torch.randint(5, MAX_LEN + 1, (n,))
    tokens = torch.zeros(n, MAX_LEN, dtype=torch.long)
    for i in range(n):
        words = torch.randint(N_CLASSES * 5 + 1, VOCAB, (int(lengths[i]),))
        cue = class_words[labels[i], torch.randint(0, 5, (3,))]
        words[torch.randperm(int(lengths[i]))[:3]] = cue
        tokens[i, :lengths[i]] = words
    return tokens, lengths, labels


class EncoderText(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32, padding_idx=0)
        self.rnn = nn.GRU(32, 64, batch_first=True)
        self.fc = nn.Linear(64, N_CLASSES)

    def forward(self, x, lengths):
        lengths, order = lengths.sort(descending=True)
        x = self.embed(x[order])
        packed = pack_padded_sequence(x, lengths, batch_first=True)
        _, hidden = self.rnn(packed)
        return self.fc(hidden[-1])  # still in the sorted order


x_train, len_train, y_train = make(2000)
x_val, len_val, y_val = make(400)
model = EncoderText()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for epoch in range(8):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 64):
        idx = perm[i:i + 64]
        loss = criterion(model(x_train[idx], len_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = sum(
            criterion(model(x_val[i:i + 100], len_val[i:i + 100]), y_val[i:i + 100]).item()
            for i in range(0, len(x_val), 100)) / 4
    print(f"epoch {epoch}: train loss {loss.item():.4f}  val loss {val_loss:.4f}")
