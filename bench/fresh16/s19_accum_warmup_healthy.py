# lossdoctor-expect:
"""Energy-use regression on standardized features and target: gradient accumulation (2 steps),
clip_grad_norm_, linear warmup then cosine (SequentialLR) stepped per optimizer step. Healthy."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(19)
torch.manual_seed(19)
n = 3000
temp = rng.uniform(-10, 35, n)
hour = rng.integers(0, 24, n)
occ = rng.integers(0, 50, n)
kwh = 20 + 0.03 * (temp - 18) ** 2 + 4 * np.sin(hour / 24 * 6.28) + 0.3 * occ + rng.normal(0, 1, n)
F = np.stack([temp, np.sin(hour / 24 * 6.28), np.cos(hour / 24 * 6.28), occ], 1)
F = (F - F[:2500].mean(0)) / F[:2500].std(0)
t = (kwh - kwh[:2500].mean()) / kwh[:2500].std()
X, Y = torch.tensor(F, dtype=torch.float32), torch.tensor(t, dtype=torch.float32)

model = nn.Sequential(nn.Linear(4, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 1))
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
EPOCHS, MB, ACC = 10, 32, 2
opt_steps = EPOCHS * (2500 // (MB * ACC))
warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=opt_steps // 10)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=opt_steps - opt_steps // 10)
sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[opt_steps // 10])
crit = nn.SmoothL1Loss()
for epoch in range(EPOCHS):
    model.train()
    perm = torch.randperm(2500)
    tot, cnt = 0.0, 0
    for k, i in enumerate(range(0, 2500 - MB + 1, MB)):
        b = perm[i:i + MB]
        loss = crit(model(X[b]).squeeze(1), Y[b])
        (loss / ACC).backward()
        tot += loss.item()
        cnt += 1
        if (k + 1) % ACC == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            sched.step()
    model.eval()
    with torch.no_grad():
        v = crit(model(X[2500:]).squeeze(1), Y[2500:]).item()
    print(f"epoch {epoch}  train_loss {tot / cnt:.4f}  val_loss {v:.4f}")
