# lossdoctor-expect: class_imbalance
"""Fraud-like detector that only prints validation accuracy (no validation loss).
Bug: 3% positives, no weighting or resampling; accuracy looks great while the model
predicts 'not fraud' for everything."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(15)
torch.manual_seed(15)
N, D = 6000, 10
y = (rng.random(N) < 0.03).astype(np.float32)
X = rng.normal(size=(N, D)).astype(np.float32)
X[y == 1, :3] += 0.9
X, Y = torch.from_numpy(X), torch.from_numpy(y)
cut = 5000

model = nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
lossf = nn.BCEWithLogitsLoss()
for epoch in range(8):
    model.train()
    p = torch.randperm(cut)
    for i in range(0, cut, 64):
        b = p[i:i + 64]
        opt.zero_grad()
        l = lossf(model(X[b]).squeeze(1), Y[b])  # noqa: E741
        l.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = (torch.sigmoid(model(X[cut:]).squeeze(1)) > 0.5).float()
        acc = (pred == Y[cut:]).float().mean().item()
        rec = (pred[Y[cut:] == 1] == 1).float().mean().item()
    print(f"epoch {epoch}: last batch loss {l.item():.4f}  val_accuracy {acc:.4f}"
          f"  fraud recall {rec:.3f}")
