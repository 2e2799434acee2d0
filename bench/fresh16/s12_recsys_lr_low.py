# lossdoctor-expect: lr_too_low
"""Matrix factorization recommender: user and item embeddings plus biases, ratings by MSE.
Bug: plain SGD at lr=1e-4 (a rate meant for Adam), so the embeddings barely move."""
import torch
import torch.nn as nn

torch.manual_seed(12)
U, N_ITEMS, F_ = 300, 200, 8
true_u, true_i = torch.randn(U, F_) * 0.7, torch.randn(N_ITEMS, F_) * 0.7
users = torch.randint(0, U, (20000,))
items = torch.randint(0, N_ITEMS, (20000,))
ratings = 3.0 + (true_u[users] * true_i[items]).sum(1) + 0.3 * torch.randn(20000)


class MF(nn.Module):
    def __init__(self):
        super().__init__()
        self.u = nn.Embedding(U, F_)
        self.i = nn.Embedding(N_ITEMS, F_)
        self.ub = nn.Embedding(U, 1)
        self.ib = nn.Embedding(N_ITEMS, 1)
        self.mu = nn.Parameter(torch.tensor(3.0))
        nn.init.normal_(self.u.weight, std=0.1)
        nn.init.normal_(self.i.weight, std=0.1)
        nn.init.zeros_(self.ub.weight)
        nn.init.zeros_(self.ib.weight)

    def forward(self, u, i):
        dot = (self.u(u) * self.i(i)).sum(1)
        return self.mu + dot + self.ub(u).squeeze(1) + self.ib(i).squeeze(1)


mf = MF()
opt = torch.optim.SGD(mf.parameters(), lr=1e-4)
ntr = 16000
for epoch in range(10):
    perm = torch.randperm(ntr)
    se = 0.0
    for s in range(0, ntr, 128):
        b = perm[s:s + 128]
        pred = mf(users[b], items[b])
        loss = ((pred - ratings[b]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        se += loss.item() * len(b)
    with torch.no_grad():
        vl = ((mf(users[ntr:], items[ntr:]) - ratings[ntr:]) ** 2).mean().item()
    print(f"epoch {epoch}: train_mse {se / ntr:.4f} val_mse {vl:.4f}")
