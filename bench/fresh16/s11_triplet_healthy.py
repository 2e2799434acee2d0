# lossdoctor-expect:
"""Metric learning: an embedding net trained with TripletMarginLoss on (anchor, positive,
negative) triplets of 6 clusters; validation is the triplet loss on held-out triplets. Healthy."""
import torch
import torch.nn as nn

torch.manual_seed(11)
K, D = 6, 20
protos = torch.randn(K, D) * 1.5


def sample(n):
    a_cls = torch.randint(0, K, (n,))
    n_cls = (a_cls + torch.randint(1, K, (n,))) % K
    noise = lambda: torch.randn(n, D)  # noqa: E731
    return protos[a_cls] + noise(), protos[a_cls] + noise(), protos[n_cls] + noise()


train = sample(4000)
val = sample(800)
embed = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, 16))
opt = torch.optim.Adam(embed.parameters(), lr=1e-3)
triplet = nn.TripletMarginLoss(margin=1.0)
for epoch in range(8):
    embed.train()
    perm = torch.randperm(4000)
    tot = 0.0
    for i in range(0, 4000, 100):
        j = perm[i:i + 100]
        a, p, n = (t[j] for t in train)
        loss = triplet(embed(a), embed(p), embed(n))
        opt.zero_grad()
        loss.backward()
        opt.step()
        tot += loss.item()
    embed.eval()
    with torch.no_grad():
        v = triplet(*(embed(t) for t in val)).item()
    print(f"epoch {epoch} train_loss {tot / 40:.4f} val_loss {v:.4f}")
