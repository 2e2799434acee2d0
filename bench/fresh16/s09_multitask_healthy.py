# lossdoctor-expect:
"""Multi-task MLP: a shared trunk, a classification head (CE) and a regression head (MSE),
losses summed with a weight. Healthy."""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(9)
N = 3000
X = torch.randn(N, 8)
cls = ((X[:, 0] + X[:, 1] * X[:, 2]) > 0).long() + (X[:, 3] > 1).long()
reg = (0.8 * X[:, 4] - 0.5 * X[:, 5] ** 2 + 0.1 * torch.randn(N)).unsqueeze(1)
split = 2400


class MultiTask(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.cls_head = nn.Linear(64, 3)
        self.reg_head = nn.Linear(64, 1)

    def forward(self, x):
        h = self.trunk(x)
        return self.cls_head(h), self.reg_head(h)


def total_loss(out, c, r):
    logits, pred = out
    return F.cross_entropy(logits, c) + 0.5 * F.mse_loss(pred, r)


net = MultiTask()
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
for epoch in range(10):
    net.train()
    perm = torch.randperm(split)
    ls = []
    for i in range(0, split, 64):
        b = perm[i:i + 64]
        loss = total_loss(net(X[b]), cls[b], reg[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        ls.append(loss.item())
    net.eval()
    with torch.no_grad():
        out = net(X[split:])
        vl = total_loss(out, cls[split:], reg[split:]).item()
        acc = (out[0].argmax(1) == cls[split:]).float().mean().item()
    print(f"epoch {epoch} train_loss {sum(ls) / len(ls):.4f} val_loss {vl:.4f} val_acc {acc:.3f}")
