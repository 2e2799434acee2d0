# lossdoctor-expect:
"""Tiny transformer encoder classifying token sequences (does token 7 appear before token 3?),
OneCycleLR stepped every batch, gradient clipping. Healthy."""
import torch
import torch.nn as nn

torch.manual_seed(5)
V, L = 20, 12


def batch(n):
    x = torch.randint(8, V, (n, L))
    y = torch.randint(0, 2, (n,))
    for i in range(n):
        a, b = torch.randperm(L)[:2].sort().values.tolist()
        x[i, a], x[i, b] = (7, 3) if y[i] == 1 else (3, 7)
    return x, y


xtr, ytr = batch(2048)
xva, yva = batch(512)


class Encoder(nn.Module):
    def __init__(self, d=32):
        super().__init__()
        self.tok = nn.Embedding(V, d)
        self.pos = nn.Parameter(torch.randn(L, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(d, 2)

    def forward(self, x):
        h = self.enc(self.tok(x) + self.pos)
        return self.head(h.mean(1))


model = Encoder()
EPOCHS, BS = 8, 64
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=EPOCHS * (2048 // BS))
ce = nn.CrossEntropyLoss()
for ep in range(EPOCHS):
    model.train()
    p = torch.randperm(2048)
    acc_loss = 0.0
    for i in range(0, 2048, BS):
        j = p[i:i + BS]
        loss = ce(model(xtr[j]), ytr[j])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        acc_loss += loss.item()
    model.eval()
    with torch.no_grad():
        vl = ce(model(xva), yva).item()
    lr = sched.get_last_lr()[0]
    print(f"ep={ep} train_loss={acc_loss / (2048 // BS):.4f} val_loss={vl:.4f} lr={lr:.2e}")
