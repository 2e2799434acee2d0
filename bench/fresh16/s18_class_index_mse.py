# lossdoctor-expect: loss_mismatch
"""Land-cover classifier with 4 unordered classes (water, forest, urban, crop).
Bug: the model has one output and is trained with MSELoss on the class index as a float."""
import torch
import torch.nn as nn

torch.manual_seed(18)
N = 3200
X = torch.randn(N, 6)
centers = torch.zeros(4, 6)
centers[0, 0], centers[1, 1], centers[2, 0], centers[3, 1] = 2.0, 2.0, -2.0, -2.0
lab = torch.randint(0, 4, (N,))
X = X + centers[lab]
xtr, ytr, xva, yva = X[:2600], lab[:2600], X[2600:], lab[2600:]
reg = nn.Sequential(nn.Linear(6, 48), nn.ReLU(), nn.Linear(48, 48), nn.ReLU(), nn.Linear(48, 1))
opt = torch.optim.Adam(reg.parameters(), lr=1e-3)
mse = nn.MSELoss()
for epoch in range(10):
    reg.train()
    order = torch.randperm(2600)
    tl = []
    for i in range(0, 2600, 32):
        b = order[i:i + 32]
        opt.zero_grad()
        loss = mse(reg(xtr[b]).squeeze(-1), ytr[b].float())
        loss.backward()
        opt.step()
        tl.append(loss.item())
    reg.eval()
    with torch.no_grad():
        out = reg(xva).squeeze(-1)
        vl = mse(out, yva.float()).item()
        acc = (out.round().clamp(0, 3).long() == yva).float().mean().item()
    print(f"epoch {epoch}: train_loss={sum(tl) / len(tl):.4f} val_loss={vl:.4f} acc={acc:.3f}")
