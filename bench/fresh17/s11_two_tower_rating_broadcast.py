# lossdoctor-expect: shape_broadcast
"""Two-tower rating model (MovieLens-style explicit ratings 1-5): a user tower and an item tower
over id embeddings plus side features, the score is the dot product of the towers plus a global
bias, MSELoss, a Dataset returning (user, item, features, rating), AdamW.
Bug: the score keeps its last dimension (sum(dim=1, keepdim=True): shape (B, 1)) while the ratings
are (B,): MSELoss broadcasts to B x B and warns 'Using a target size that is different to the
input size' (the warning most 'regression loss does not go down' threads end on)."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(5)
N_USERS, N_ITEMS, K = 400, 250, 6
true_u = torch.randn(N_USERS, K)
true_v = torch.randn(N_ITEMS, K)
item_genre = (true_v[:, :3] > 0).float()


class Ratings(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.u = torch.randint(0, N_USERS, (n,), generator=g)
        self.i = torch.randint(0, N_ITEMS, (n,), generator=g)
        raw = (true_u[self.u] * true_v[self.i]).sum(1) / K**0.5 + 0.3 * torch.randn(n, generator=g)
        self.r = torch.clamp(torch.round(3 + 1.2 * raw), 1, 5)

    def __len__(self):
        return len(self.r)

    def __getitem__(self, k):
        return self.u[k], self.i[k], item_genre[self.i[k]], self.r[k]


class TwoTowerRegressor(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.user_emb = nn.Embedding(N_USERS, dim)
        self.item_emb = nn.Embedding(N_ITEMS, dim)
        self.user_tower = nn.Sequential(nn.Linear(dim, 32), nn.ReLU(), nn.Linear(32, dim))
        self.item_tower = nn.Sequential(nn.Linear(dim + 3, 32), nn.ReLU(), nn.Linear(32, dim))
        self.bias = nn.Parameter(torch.tensor(3.0))

    def forward(self, users, items, genres):
        u = self.user_tower(self.user_emb(users))
        v = self.item_tower(torch.cat([self.item_emb(items), genres], dim=1))
        return (u * v).sum(dim=1, keepdim=True) + self.bias


train_dl = DataLoader(Ratings(20000, 1), batch_size=256, shuffle=True)
val_dl = DataLoader(Ratings(3000, 2), batch_size=1000)
model = TwoTowerRegressor()
criterion = nn.MSELoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
for epoch in range(10):
    model.train()
    running = 0.0
    for users, items, genres, rating in train_dl:
        pred = model(users, items, genres)
        loss = criterion(pred, rating)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running += loss.item() * len(rating)
    model.eval()
    with torch.no_grad():
        val = sum(criterion(model(u, i, gn), r).item() * len(r) for u, i, gn, r in val_dl)
    print(
        f"epoch {epoch + 1:2d} | train mse {running / len(train_dl.dataset):.4f} "
        f"| val mse {val / len(val_dl.dataset):.4f}"
    )
