# lossdoctor-expect:
"""pytorch/examples#631 (https://github.com/pytorch/examples/issues/631): running the examples'
VAE, "the KL term increases instead of decreasing; is that expected?". The answer (anlijuncn,
and the maintainers' pointer to the current master): yes, the KL term first rises while the
encoder starts to use the latent, then falls; the total loss falls, the model is fine. The
examples' VAE (784-400-20 there, 256-200-10 here on 16x16 frames of one blob), BCE summed plus
KLD, Adam 1e-3, batch 128, with its test loop."""

import torch
import torch.nn.functional as F
from torch import nn, optim

torch.manual_seed(1)
SIZE = 16


def frames(n):
    pos = torch.rand(n, 2) * (SIZE - 4) + 2
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    d2 = (yy[None] - pos[:, 0, None, None]) ** 2 + (xx[None] - pos[:, 1, None, None]) ** 2
    return torch.exp(-d2 / 8.0).view(n, -1)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(SIZE * SIZE, 200)
        self.fc21 = nn.Linear(200, 10)
        self.fc22 = nn.Linear(200, 10)
        self.fc3 = nn.Linear(10, 200)
        self.fc4 = nn.Linear(200, SIZE * SIZE)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, SIZE * SIZE))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, SIZE * SIZE), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD, BCE, KLD


train_data, test_data = frames(3000), frames(500)
model = VAE()
optimizer = optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(1, 11):
    model.train()
    train_loss = bce_sum = kld_sum = 0
    perm = torch.randperm(len(train_data))
    for i in range(0, len(perm), 128):
        data = train_data[perm[i:i + 128]]
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss, bce, kld = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        bce_sum += bce.item()
        kld_sum += kld.item()
        optimizer.step()
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i in range(0, len(test_data), 128):
            data = test_data[i:i + 128]
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar)[0].item()
    n = len(train_data)
    print(f"====> Epoch: {epoch} Average loss: {train_loss / n:.4f} (BCE {bce_sum / n:.4f}, "
          f"KLD {kld_sum / n:.4f})  Test set loss: {test_loss / len(test_data):.4f}")
