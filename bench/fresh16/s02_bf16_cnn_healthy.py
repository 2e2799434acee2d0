# lossdoctor-expect:
"""Small CNN on synthetic 16x16 'bar orientation' images, bfloat16 autocast on CPU. Healthy."""
import torch
import torch.nn as nn
import torch.nn.functional as F

g = torch.Generator().manual_seed(2)
torch.manual_seed(2)


def make(n):
    imgs = torch.randn(n, 1, 16, 16, generator=g) * 0.3
    labels = torch.randint(0, 3, (n,), generator=g)
    pos = torch.randint(3, 13, (n,), generator=g)
    for k in range(n):
        p = int(pos[k])
        if labels[k] == 0:
            imgs[k, 0, p, 2:14] += 1.0
        elif labels[k] == 1:
            imgs[k, 0, 2:14, p] += 1.0
        else:
            for j in range(2, 14):
                imgs[k, 0, j, j] += 1.0
    return imgs, labels


xtr, ytr = make(1536)
xva, yva = make(384)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


model = Net()
opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
for epoch in range(8):
    model.train()
    perm = torch.randperm(len(xtr))
    run = []
    for b in range(0, len(xtr), 64):
        idx = perm[b:b + 64]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(xtr[idx])
        loss = F.cross_entropy(logits.float(), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.append(loss.item())
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        vl = F.cross_entropy(model(xva).float(), yva).item()
    print(f"[{epoch + 1}/8] train {sum(run) / len(run):.4f} | val {vl:.4f}")
