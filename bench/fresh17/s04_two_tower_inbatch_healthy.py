# lossdoctor-expect:
"""Two-tower retrieval (the shape of TensorFlow Recommenders / DSSM retrieval models, in PyTorch):
a user tower over dense user features, an item tower over item ids (embedding + MLP), both
L2-normalized, the in-batch softmax loss: cross_entropy(sim / temperature, arange(B)). The
validation pass uses the same in-batch loss on held-out users. Healthy."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
N_ITEMS, LATENT, USER_FEATS = 300, 8, 16
item_latent = torch.randn(N_ITEMS, LATENT)
mixing = torch.randn(LATENT, USER_FEATS) / LATENT**0.5


def interactions(n, g):
    u = torch.randn(n, LATENT, generator=g)
    feats = u @ mixing + 0.1 * torch.randn(n, USER_FEATS, generator=g)
    probs = torch.softmax(2.0 * u @ item_latent.T, dim=1)
    items = torch.multinomial(probs, 1, generator=g).squeeze(1)
    return feats, items


g = torch.Generator().manual_seed(0)
train_users, train_items = interactions(8000, g)
val_users, val_items = interactions(1024, g)


class Tower(nn.Module):
    def __init__(self, inp, out=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(inp, 64), nn.ReLU(), nn.Linear(64, out))

    def forward(self, x):
        return F.normalize(self.net(x), dim=-1)


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.user = Tower(USER_FEATS)
        self.item_emb = nn.Embedding(N_ITEMS, 32)
        self.item = Tower(32)
        self.temperature = 0.1

    def forward(self, users, items):
        u = self.user(users)
        v = self.item(self.item_emb(items))
        return u @ v.T / self.temperature


model = TwoTower()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
B = 128
for epoch in range(8):
    model.train()
    perm = torch.randperm(len(train_users))
    total, steps = 0.0, 0
    for i in range(0, len(perm) - B + 1, B):
        idx = perm[i : i + B]
        logits = model(train_users[idx], train_items[idx])
        loss = F.cross_entropy(logits, torch.arange(B))
        opt.zero_grad()
        loss.backward()
        opt.step()
        total, steps = total + loss.item(), steps + 1
    model.eval()
    with torch.no_grad():
        val = sum(
            F.cross_entropy(
                model(val_users[j : j + B], val_items[j : j + B]), torch.arange(B)
            ).item()
            for j in range(0, len(val_users), B)
        ) / (len(val_users) // B)
    print(f"epoch {epoch} train_loss {total / steps:.4f} val_loss {val:.4f}")
