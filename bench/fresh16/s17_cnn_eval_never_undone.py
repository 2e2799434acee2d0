# lossdoctor-expect: train_eval_mode
"""CNN with BatchNorm and Dropout on synthetic 'spot count' images; a sanity-check evaluation
runs before training. Bug: evaluate() calls model.eval() and the training loop never calls
model.train(), so the whole training runs in eval mode (BatchNorm never learns its statistics)."""
import torch
import torch.nn as nn

torch.manual_seed(17)


def make(n):
    imgs = torch.rand(n, 1, 12, 12) * 0.2 + 0.4
    count = torch.randint(0, 3, (n,))
    for k in range(n):
        for _ in range(int(count[k]) + 1):
            r, c = torch.randint(1, 11, (2,)).tolist()
            imgs[k, 0, r - 1:r + 2, c - 1:c + 2] += 2.0
    return imgs * 40, count


xtr, ytr = make(1500)
xva, yva = make(300)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Dropout(0.3), nn.Linear(16, 3))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
crit = nn.CrossEntropyLoss()


def evaluate():
    model.eval()
    with torch.no_grad():
        return crit(model(xva), yva).item()


print(f"before training: val_loss {evaluate():.4f}")
for epoch in range(8):
    perm = torch.randperm(1500)
    s = 0.0
    for i in range(0, 1500, 50):
        b = perm[i:i + 50]
        loss = crit(model(xtr[b]), ytr[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        s += loss.item()
    print(f"epoch {epoch} train_loss {s / 30:.4f} val_loss {evaluate():.4f}")
