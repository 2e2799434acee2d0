# lossdoctor-expect:
"""VAE in the shape of pytorch/examples vae/main.py: encoder to (mu, logvar), reparameterize,
decoder to pixel logits, loss_function = reconstruction BCE summed + KL summed, the epoch loss
divided by len(dataset), a test() pass under no_grad. Data: 8x8 'bars' images (a few random
horizontal and vertical bars, 3% pixel noise). Healthy."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(1)


def bars(n, g):
    rows = torch.rand(n, 8, 1, generator=g) < 0.2
    cols = torch.rand(n, 1, 8, generator=g) < 0.2
    img = (rows | cols).float().view(n, 64)
    flip = (torch.rand(n, 64, generator=g) < 0.03).float()
    return (img + flip) % 2


g = torch.Generator().manual_seed(0)
train_loader = DataLoader(TensorDataset(bars(6000, g)), batch_size=128, shuffle=True)
test_loader = DataLoader(TensorDataset(bars(1000, g)), batch_size=128)


class VAE(nn.Module):
    def __init__(self, latent=8):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc21, self.fc22 = nn.Linear(128, latent), nn.Linear(128, latent)
        self.fc3, self.fc4 = nn.Linear(latent, 128), nn.Linear(128, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def loss_function(recon_logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


model = VAE()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)


def train(epoch):
    model.train()
    train_loss = 0
    for (data,) in train_loader:
        optimizer.zero_grad()
        recon, mu, logvar = model(data)
        loss = loss_function(recon, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return train_loss / len(train_loader.dataset)


def test(epoch):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for (data,) in test_loader:
            recon, mu, logvar = model(data)
            test_loss += loss_function(recon, data, mu, logvar).item()
    return test_loss / len(test_loader.dataset)


for epoch in range(1, 13):
    tr = train(epoch)
    te = test(epoch)
    print(f"====> Epoch: {epoch} Average loss: {tr:.4f}  Test set loss: {te:.4f}")
