# lossdoctor-expect:
"""Seq2seq GRU encoder-decoder reversing digit strings, teacher forcing with ratio 0.5. Healthy."""
import random

import torch
import torch.nn as nn

random.seed(13)
torch.manual_seed(13)
V, L, SOS = 10, 6, 10


def make(n):
    src = torch.randint(0, V, (n, L))
    return src, src.flip(1)


src_tr, tgt_tr = make(3000)
src_va, tgt_va = make(500)


class Seq2Seq(nn.Module):
    def __init__(self, h=64):
        super().__init__()
        self.emb_in = nn.Embedding(V, 32)
        self.emb_out = nn.Embedding(V + 1, 32)
        self.enc = nn.GRU(32, h, batch_first=True)
        self.dec = nn.GRUCell(32, h)
        self.out = nn.Linear(h, V)

    def forward(self, src, tgt, tf_ratio=0.0):
        _, h = self.enc(self.emb_in(src))
        h = h[0]
        tok = torch.full((src.size(0),), SOS, dtype=torch.long)
        logits = []
        for t in range(tgt.size(1)):
            h = self.dec(self.emb_out(tok), h)
            step = self.out(h)
            logits.append(step)
            tok = tgt[:, t] if random.random() < tf_ratio else step.argmax(1)
        return torch.stack(logits, 1)


model = Seq2Seq()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
ce = nn.CrossEntropyLoss()
for epoch in range(8):
    model.train()
    perm = torch.randperm(3000)
    total = 0.0
    for i in range(0, 3000, 64):
        b = perm[i:i + 64]
        logits = model(src_tr[b], tgt_tr[b], tf_ratio=0.5)
        loss = ce(logits.reshape(-1, V), tgt_tr[b].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        lv = model(src_va, tgt_va)
        vl = ce(lv.reshape(-1, V), tgt_va.reshape(-1)).item()
        acc = (lv.argmax(-1) == tgt_va).float().mean().item()
    print(f"epoch {epoch} train_loss {total / 47:.4f} val_loss {vl:.4f} tok_acc {acc:.3f}")
