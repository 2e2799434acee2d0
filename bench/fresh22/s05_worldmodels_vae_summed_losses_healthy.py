# lossdoctor-expect:
"""s04 fixed as the thread answered (https://github.com/AppliedDataSciencePartners/WorldModels/issues/12):
both losses are summed over their dimensions (pixels, latent units) and averaged over the
batch, as the original World Models code does; the KL term no longer swamps the
reconstruction and the latent carries the blob's position."""

import torch
import torch.nn as nn

torch.manual_seed(0)
SIZE, Z_DIM = 16, 8


def frames(n):
    pos = torch.rand(n, 2) * (SIZE - 4) + 2
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    d2 = (yy[None] - pos[:, 0, None, None]) ** 2 + (xx[None] - pos[:, 1, None, None]) ** 2
    return torch.exp(-d2 / 8.0)[:, None]


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
            nn.Flatten())
        self.mu = nn.Linear(32 * 4 * 4, Z_DIM)
        self.log_var = nn.Linear(32 * 4 * 4, Z_DIM)
        self.decoder_in = nn.Linear(Z_DIM, 32 * 4 * 4)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, x):
        h = self.encoder(x)
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.exp(log_var / 2) * torch.randn_like(mu)
        out = self.decoder(self.decoder_in(z).view(-1, 32, 4, 4))
        return out, mu, log_var


def vae_r_loss(y_true, y_pred):
    return torch.sum(torch.square(y_true.flatten(1) - y_pred.flatten(1)), dim=-1)


def vae_kl_loss(mu, log_var):
    return -0.5 * torch.sum(1 + log_var - torch.square(mu) - torch.exp(log_var), dim=-1)


def vae_loss(y_true, y_pred, mu, log_var):
    return torch.mean(vae_r_loss(y_true, y_pred) + vae_kl_loss(mu, log_var))


x_train, x_val = frames(2000), frames(400)
vae = VAE()
optimizer = torch.optim.RMSprop(vae.parameters(), lr=1e-3)
for epoch in range(12):
    vae.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(perm), 32):
        batch = x_train[perm[i:i + 32]]
        out, mu, log_var = vae(batch)
        loss = vae_loss(batch, out, mu, log_var)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    vae.eval()
    with torch.no_grad():
        out, mu, log_var = vae(x_val)
        r = vae_r_loss(x_val, out).mean().item()
        kl = vae_kl_loss(mu, log_var).mean().item()
    print(f"epoch {epoch}: loss {loss.item():.4f} - val_loss {r + kl:.4f} - "
          f"val_vae_r_loss {r:.4f} ({10 * r / SIZE ** 2:.4f} as s04 counts it) - "
          f"val_vae_kl_loss {kl:.3g}")
