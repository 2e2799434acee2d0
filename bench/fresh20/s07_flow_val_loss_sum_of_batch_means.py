# lossdoctor-expect: validation_path
"""Fitting a small normalizing flow (affine coupling layers) by maximum likelihood, in the idiom
of davidnabergoj/torchflows' Flow.fit (https://github.com/davidnabergoj/torchflows/issues/7):
training batches minimize the mean negative log-likelihood, and when x_val is given a
validation loss is computed every epoch for early stopping.
Bug (the issue): the validation loss is the SUM over validation batches of each batch's mean
NLL, not the average over the validation set, so it is reported about as many times larger as
there are validation batches. The maintainers' fix: average over the validation data."""

import math

import torch
import torch.nn as nn

torch.manual_seed(0)


def two_moons(n):
    t = math.pi * torch.rand(n)
    upper = torch.rand(n) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    return torch.stack([x, y], 1) + 0.08 * torch.randn(n, 2)


class Coupling(nn.Module):
    def __init__(self, flip):
        super().__init__()
        self.flip = flip
        self.net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 2))

    def forward(self, x):
        a, b = (x[:, 1:], x[:, :1]) if self.flip else (x[:, :1], x[:, 1:])
        s, t = self.net(a).chunk(2, dim=1)
        s = torch.tanh(s)
        b = b * torch.exp(s) + t
        out = torch.cat([b, a], 1) if self.flip else torch.cat([a, b], 1)
        return out, s.sum(1)


class Flow(nn.Module):
    def __init__(self, n_layers=6):
        super().__init__()
        self.layers = nn.ModuleList(Coupling(i % 2 == 1) for i in range(n_layers))

    def log_prob(self, x):
        log_det = torch.zeros(len(x))
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        base = -0.5 * (x ** 2).sum(1) - math.log(2 * math.pi)
        return base + log_det

    def fit(self, x_train, x_val, n_epochs=15, batch_size=64, lr=0.005):
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        for epoch in range(n_epochs):
            perm = torch.randperm(len(x_train))
            train_loss = 0.0
            for i in range(0, len(x_train), batch_size):
                batch = x_train[perm[i:i + batch_size]]
                optimizer.zero_grad()
                loss = -self.log_prob(batch).mean()
                loss.backward()
                optimizer.step()
                train_loss += loss.item()
            val_loss = 0.0
            with torch.no_grad():
                for i in range(0, len(x_val), batch_size):
                    val_loss += -self.log_prob(x_val[i:i + batch_size]).mean()
            n_batches = math.ceil(len(x_train) / batch_size)
            print(f"epoch {epoch} train_loss {train_loss / n_batches:.4f} "
                  f"val_loss {float(val_loss):.4f}")


flow = Flow()
flow.fit(two_moons(1500), two_moons(500))
