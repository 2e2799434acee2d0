# lossdoctor-expect: over_regularized
"""Credit-score classifier (3 grades) with Dropout(0.6) after every layer and Adam with
weight_decay=0.1 (coupled L2, 'to prevent overfitting'). Bug: regularization so strong the
model cannot fit even the training rows."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(20)
N, D = 3000, 10
X = torch.randn(N, D)
score = torch.tanh(X[:, :4] @ torch.tensor([1.5, -1.0, 0.8, 1.2])) + 0.5 * X[:, 4] * X[:, 5]
y = torch.bucketize(score, torch.tensor([-0.4, 0.4]))
train_dl = DataLoader(TensorDataset(X[:2400], y[:2400]), batch_size=64, shuffle=True)
xv, yv = X[2400:], y[2400:]

model = nn.Sequential(nn.Linear(D, 128), nn.ReLU(), nn.Dropout(0.6),
                      nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.6), nn.Linear(128, 3))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.1)
ce = nn.CrossEntropyLoss()
for epoch in range(10):
    model.train()
    tot = 0.0
    for xb, yb in train_dl:
        opt.zero_grad()
        loss = ce(model(xb), yb)
        loss.backward()
        opt.step()
        tot += loss.item() * len(xb)
    model.eval()
    with torch.no_grad():
        v = ce(model(xv), yv).item()
    print(f"Epoch {epoch + 1:2d} | train_loss: {tot / 2400:.4f} | val_loss: {v:.4f}")
