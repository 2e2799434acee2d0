# lossdoctor-expect: over_regularized
"""AppliedDataSciencePartners/WorldModels#12 (https://github.com/AppliedDataSciencePartners/WorldModels/issues/12):
the World Models convolutional VAE, trained with its standard parameters, ends at
"vae_r_loss: 0.1416 - vae_kl_loss: 3.8e-07": the posterior collapsed, every frame decodes to
the same blur. The answer (jneeven): this version takes the MEAN over all dimensions of both
losses (and multiplies the reconstruction by 10), where the original sums each loss over its
dimensions and then averages over the batch: per pixel, the reconstruction is too weak against
the KL term. Written in PyTorch with the repository's two loss functions; frames are 16x16
with one bright blob whose position is the latent."""

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
    return 10 * torch.mean(torch.square(y_true.flatten(1) - y_pred.flatten(1)), dim=-1)


def vae_kl_loss(mu, log_var):
    return -0.5 * torch.mean(1 + log_var - torch.square(mu) - torch.exp(log_var), dim=-1)


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
          f"val_vae_r_loss {r:.4f} - val_vae_kl_loss {kl:.3g}")
