# lossdoctor-expect: lr_too_low
"""A convolutional autoencoder on small grayscale images, in the style of DmitryUlyanov/AGE's
encoder/decoder pair (strided conv encoder to a latent vector, transposed-conv decoder, Adam with
betas (0.5, 0.999), MSE reconstruction, a held-out set reconstructed every epoch).
Bug (DmitryUlyanov/AGE#2, 'why some of my reconstructions are just blank images?' - the poster's
resolution: 'Actually I made it work just by increasing the lr 10x'): the learning rate is ten
times too small; the decoder reproduces the mean image and the reconstructions stay blank."""

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


def make_shapes(n, g):
    yy, xx = torch.meshgrid(torch.arange(16.), torch.arange(16.), indexing="ij")
    cy, cx = torch.randint(4, 12, (2, n, 1, 1), generator=g).float()
    size = torch.randint(2, 5, (n, 1, 1), generator=g).float()
    square = torch.rand(n, 1, 1, generator=g) < 0.5
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2) < size ** 2
    box = ((yy - cy).abs() < size) & ((xx - cx).abs() < size)
    return torch.where(square, box, disc).float().unsqueeze(1)


encoder = nn.Sequential(
    nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(64 * 4 * 4, 16),
)
decoder = nn.Sequential(
    nn.Linear(16, 64 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
    nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
    nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid(),
)

torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
train_loader = DataLoader(TensorDataset(make_shapes(1600, g)), batch_size=64, shuffle=True)
x_val = make_shapes(320, g)
params = list(encoder.parameters()) + list(decoder.parameters())
optimizer = torch.optim.Adam(params, lr=2e-5, betas=(0.5, 0.999))
criterion = nn.MSELoss()

for epoch in range(10):
    encoder.train()
    decoder.train()
    running = 0.0
    for (x,) in train_loader:
        optimizer.zero_grad()
        loss = criterion(decoder(encoder(x)), x)
        loss.backward()
        optimizer.step()
        running += loss.item()
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        recon = decoder(encoder(x_val))
        val_loss = criterion(recon, x_val).item()
    print(f"epoch {epoch}: rec_loss {running / len(train_loader):.4f} val_rec_loss {val_loss:.4f} "
          f"recon_var {recon.var(0).mean().item():.4f}")
