# lossdoctor-expect: lr_too_high
"""Dense autoencoder compressing 32-d signals made of 4 latent factors (reconstruction MSE).
Bug: Adam's learning rate is 0.1 (copied from an SGD recipe), far above what Adam tolerates."""
import torch
import torch.nn as nn

torch.manual_seed(10)
Z = torch.randn(3000, 4)
mix = torch.randn(4, 32)
data = torch.tanh(Z @ mix) + 0.05 * torch.randn(3000, 32)
train, val = data[:2500], data[2500:]


class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 6))
        self.dec = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 32))

    def forward(self, x):
        return self.dec(self.enc(x))


ae = AE()
opt = torch.optim.Adam(ae.parameters(), lr=0.1)
recon = nn.MSELoss()
for epoch in range(12):
    ae.train()
    perm = torch.randperm(2500)
    run = 0.0
    for i in range(0, 2500, 50):
        xb = train[perm[i:i + 50]]
        loss = recon(ae(xb), xb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run += loss.item()
    ae.eval()
    with torch.no_grad():
        v = recon(ae(val), val).item()
    print(f"epoch {epoch}: train_loss={run / 50:.5f} val_loss={v:.5f}")
