"""A development script for the overfitting check on language models that compute their own loss
(issue 11: thresholds are chosen on development cases, never on the fresh sets). Session 26.

A small GRU language model whose forward takes labels and returns its loss as the Hugging Face
causal language models do (labels shifted by one, cross-entropy summed over the tokens and
divided by their count), its output layer tied to the embedding and without a bias, on
Markov-chain text: N_TRAIN training sequences, EPOCHS epochs, an evaluation every epoch;
PATIENCE > 0 stops after that many epochs without a better evaluation loss (early stopping).
The cases of docs/devset.md, session 26 (seeds 353100-353103):

    lossdoctor run --json A.json bench/lm_overfit_dev.py 48 40 353100 0   # broken, large rise
    ... 48 14 353101 0; 32 16 353101 0; 64 13 353101 0                   # broken, small rises
    ... 1500 6 353102 0; 800 8 353103 0                                  # twins: more data
    ... 48 40 353101 2                                                   # early-stopped
"""
import sys

import torch
import torch.nn.functional as F
from torch import nn

n_train, epochs, seed, patience = (int(a) for a in sys.argv[1:5])
torch.manual_seed(seed)
VOCAB, SEQ, WIDTH = 96, 24, 96
chain = torch.Generator().manual_seed(1000 + seed)
successors = torch.randint(0, VOCAB, (VOCAB, 3), generator=chain)
probs = torch.softmax(torch.randn(VOCAB, 3, generator=chain), dim=1) * 0.85


def sequences(n, g):
    ids = torch.empty(n, SEQ, dtype=torch.long)
    ids[:, 0] = torch.randint(0, VOCAB, (n,), generator=g)
    for t in range(1, SEQ):
        prev = ids[:, t - 1]
        choice = torch.multinomial(torch.cat([probs[prev], torch.full((n, 1), 0.15)], 1), 1,
                                   generator=g).squeeze(1)
        ids[:, t] = torch.where(choice == 3, torch.randint(0, VOCAB, (n,), generator=g),
                                successors[prev, choice.clamp(max=2)])
    return ids


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.rnn = nn.GRU(WIDTH, WIDTH, batch_first=True)
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, input_ids, labels=None):
        logits = self.head(self.rnn(self.embed(input_ids))[0])
        if labels is None:
            return logits
        shift = F.pad(labels, (0, 1), value=-100)[:, 1:].reshape(-1)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), shift, ignore_index=-100,
                               reduction="sum")
        return loss / (shift != -100).sum(), logits


g = torch.Generator().manual_seed(seed)
train_ids, val_ids = sequences(n_train, g), sequences(200, g)
model = TinyLM()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
best, waited = float("inf"), 0
for epoch in range(epochs):
    model.train()
    order = torch.randperm(n_train)
    for i in range(0, n_train, 16):
        batch = train_ids[order[i:i + 16]]
        opt.zero_grad()
        loss, _ = model(batch, labels=batch)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val_loss, _ = model(val_ids, labels=val_ids)
    print(f"epoch {epoch} train {loss.item():.3f} val {val_loss.item():.3f}")
    if val_loss.item() < best - 1e-4:
        best, waited = val_loss.item(), 0
    else:
        waited += 1
        if patience and waited >= patience:
            break
