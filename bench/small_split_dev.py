"""Development cases (issue 11, session 35) for no_signal on small labelled splits (every class
short of 40 training rows).

    python bench/small_split_dev.py OUT SEEDS VARIANTS KINDS
    python bench/small_split_dev.py /tmp/small 433950,433951 healthy,shuffled,random gcn,tab

Then run `lossdoctor run --json REPORT train.py` in each folder.

Kinds:
  gcn   a two-layer GCN (dense normalized adjacency) on a random graph whose nodes' classes are
        read from their bag-of-words features and shared by their neighbours; 20-30 labelled
        training nodes a class (the semi-supervised split), full-batch Adam, as pygcn trains
  tab   an MLP on 60-150 training rows of 3-5 classes from a hidden tanh teacher, minibatches
Variants:
  healthy    labels as they are
  long       labels as they are, trained 4x longer (overfits: validation rises again)
  shuffled   labels permuted apart from their rows (a join on the wrong key)
  random     labels drawn at random
"""
import random
import sys
from pathlib import Path

HEAD = '''import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
SEED = {seed}
torch.manual_seed(SEED); np.random.seed(SEED)
g = np.random.default_rng(SEED)
'''

LABEL_FAULT = {
    "healthy": "",
    "long": "",
    "shuffled": "labels = labels[g.permutation(len(labels))]",
    "random": "labels = g.integers(0, CLASSES, len(labels))",
}

GCN = '''
N, FEATURES, CLASSES, PER_CLASS = {nodes}, {features}, {classes}, {per_class}
classes = g.integers(0, CLASSES, N)
topics = g.random((CLASSES, FEATURES)) < 0.05
words = (g.random((N, FEATURES)) < 0.01) | (topics[classes] & (g.random((N, FEATURES)) < {signal}))
same = classes[:, None] == classes[None, :]
p = np.where(same, {p_in}, {p_out})
adj = np.triu(g.random((N, N)) < p, 1); adj = (adj | adj.T).astype(np.float32)
labels = classes.copy()
{label_fault}
features = torch.tensor(words / np.maximum(words.sum(1, keepdims=True), 1), dtype=torch.float32)
a = adj + np.eye(N, dtype=np.float32); d = a.sum(1)
adj = torch.tensor(a / np.sqrt(d[:, None] * d[None, :]), dtype=torch.float32)
labels = torch.tensor(labels, dtype=torch.long)
order = g.permutation(N)
LABELLED = CLASSES * PER_CLASS
idx_train = torch.tensor(order[:LABELLED]); idx_val = torch.tensor(order[LABELLED:LABELLED + 300])

class GraphConvolution(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        nn.init.xavier_uniform_(self.weight)
    def forward(self, x, adj):
        return adj @ (x @ self.weight) + self.bias

class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid); self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout
    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        return F.log_softmax(self.gc2(x, adj), dim=1)

model = GCN(FEATURES, 16, CLASSES, 0.5)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
for epoch in range({epochs}):
    model.train(); optimizer.zero_grad()
    output = model(features, adj)
    loss_train = F.nll_loss(output[idx_train], labels[idx_train])
    loss_train.backward(); optimizer.step()
    model.eval()
    with torch.no_grad():
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
    print(f"epoch {{epoch}} train_loss {{loss_train.item():.4f}} val_loss {{loss_val.item():.4f}}")
'''

TAB = '''
D, CLASSES, N_TRAIN = {features_tab}, {classes}, {n_train}
W = g.normal(0, 1, (D, CLASSES))
def make(n):
    x = g.normal(0, 1, (n, D)).astype(np.float32)
    return x, np.argmax(np.tanh(x @ W) + 0.3 * g.normal(0, 1, (n, CLASSES)), axis=1)
x_tr, labels = make(N_TRAIN)
{label_fault}
y_tr = labels
x_va, y_va = make(300)
x_tr, y_tr = torch.tensor(x_tr), torch.tensor(y_tr, dtype=torch.long)
x_va, y_va = torch.tensor(x_va), torch.tensor(y_va, dtype=torch.long)
model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, CLASSES))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
for epoch in range({epochs}):
    model.train(); perm = torch.randperm(N_TRAIN); total = 0.0
    for i in range(0, N_TRAIN, 16):
        idx = perm[i:i + 16]
        optimizer.zero_grad(); loss = loss_fn(model(x_tr[idx]), y_tr[idx])
        loss.backward(); optimizer.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        val = loss_fn(model(x_va), y_va).item()
    print(f"epoch {{epoch}} train_loss {{total / N_TRAIN:.4f}} val_loss {{val:.4f}}")
'''


def script(kind: str, variant: str, seed: int) -> str:
    rng = random.Random(f"{kind}:{seed}")
    classes = rng.choice([3, 4, 5, 6, 7]) if kind == "gcn" else rng.choice([3, 4, 5])
    epochs = rng.choice([100, 150, 200]) if kind == "gcn" else rng.choice([20, 30, 40])
    fields = dict(
        seed=seed, nodes=rng.choice([800, 1000, 1200]), features=rng.choice([300, 500]),
        classes=classes, per_class=rng.choice([20, 25, 30]), signal=rng.choice([0.3, 0.4]),
        p_in=rng.choice([0.01, 0.015]), p_out=0.001, features_tab=rng.choice([8, 12, 20]),
        n_train=classes * rng.choice([20, 25, 30, 35]),
        epochs=epochs * (4 if variant == "long" else 1), label_fault=LABEL_FAULT[variant],
    )
    return HEAD.format(**fields) + (GCN if kind == "gcn" else TAB).format(**fields)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for kind in sys.argv[4].split(","):
        for seed in [int(s) for s in sys.argv[2].split(",")]:
            for variant in sys.argv[3].split(","):
                folder = out / f"{kind}-{variant}-{seed}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "train.py").write_text(script(kind, variant, seed))
