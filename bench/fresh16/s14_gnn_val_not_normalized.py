# lossdoctor-expect: train_val_shift
"""Hand-written message passing (mean aggregation over a sparse adjacency) for node
classification on graphs. Bug: node features of the training graphs are standardized, but
the validation graphs are fed in raw units (the preprocessing step was skipped for them)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(14)
NODES, FEAT = 60, 6


def graph():
    comm = torch.randint(0, 2, (NODES,))
    same = comm[:, None] == comm[None, :]
    prob = torch.where(same, torch.tensor(0.15), torch.tensor(0.02))
    adj = (torch.rand(NODES, NODES) < prob).float()
    adj = ((adj + adj.T) > 0).float() + torch.eye(NODES)
    x = torch.randn(NODES, FEAT) * 4 + 20
    x[:, 0] += 6 * comm
    return adj / adj.sum(1, keepdim=True), x, comm


train_graphs = [graph() for _ in range(40)]
val_graphs = [graph() for _ in range(10)]
allx = torch.cat([g[1] for g in train_graphs])
mu, sd = allx.mean(0), allx.std(0)
train_graphs = [(a, (x - mu) / sd, y) for a, x, y in train_graphs]


class MPNN(nn.Module):
    def __init__(self, h=32):
        super().__init__()
        self.l1 = nn.Linear(FEAT, h)
        self.l2 = nn.Linear(h, h)
        self.out = nn.Linear(h, 2)

    def forward(self, adj, x):
        h = F.relu(self.l1(adj @ x))
        h = F.relu(self.l2(adj @ h))
        return self.out(h)


gnn = MPNN()
opt = torch.optim.Adam(gnn.parameters(), lr=5e-3)
for epoch in range(15):
    gnn.train()
    tl = 0.0
    for adj, x, y in train_graphs:
        loss = F.cross_entropy(gnn(adj, x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tl += loss.item()
    gnn.eval()
    with torch.no_grad():
        vl = sum(F.cross_entropy(gnn(a, x), y).item() for a, x, y in val_graphs) / len(val_graphs)
    print(f"epoch {epoch:2d}  train_loss {tl / len(train_graphs):.4f}  val_loss {vl:.4f}")
