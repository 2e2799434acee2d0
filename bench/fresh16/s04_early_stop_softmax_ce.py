# lossdoctor-expect: loss_mismatch
"""Five-class MLP with early stopping on validation loss (patience 3).
Bug: the model ends in nn.Softmax and its output goes to nn.CrossEntropyLoss
(softmax applied twice)."""
import torch
import torch.nn as nn

torch.manual_seed(4)
N, D, K = 2500, 16, 5
X = torch.randn(N, D)
W = torch.randn(D, K)
y = (X @ W + 0.3 * torch.randn(N, K)).argmax(1)
Xtr, ytr, Xva, yva = X[:2000], y[:2000], X[2000:], y[2000:]

clf = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, K), nn.Softmax(dim=-1))
optimizer = torch.optim.Adam(clf.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
best, bad, PATIENCE = float("inf"), 0, 3
best_state = None
for epoch in range(25):
    clf.train()
    order = torch.randperm(2000)
    losses = []
    for s in range(0, 2000, 32):
        b = order[s:s + 32]
        optimizer.zero_grad()
        loss = criterion(clf(Xtr[b]), ytr[b])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    clf.eval()
    with torch.no_grad():
        v = criterion(clf(Xva), yva).item()
    print(f"epoch {epoch:02d} train_loss {sum(losses) / len(losses):.4f} val_loss {v:.4f}")
    if v < best - 1e-4:
        best, bad = v, 0
        best_state = {k: t.clone() for k, t in clf.state_dict().items()}
    else:
        bad += 1
        if bad >= PATIENCE:
            print(f"early stopping at epoch {epoch}, best val {best:.4f}")
            break
clf.load_state_dict(best_state)
