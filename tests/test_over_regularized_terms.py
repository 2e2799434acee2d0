"""over_regularized on a hand-written loss of a data term and a term on the model's outputs
alone (a VAE's KL): the term held at its floor while the data term stalls (World Models' mean
losses, bench/fresh22 s04) against the same VAE with each term summed (healthy)."""

import torch
from torch import nn

from conftest import record
from lossdoctor.checks._loss_terms import split_terms
from lossdoctor.checks.over_regularized import HELD_TERM_SHARE, OVER_REGULARIZED, check
from lossdoctor.diagnosis import REPORT_THRESHOLD

SIZE, LATENT = 12, 4


def rings(rows, generator):
    """A ring whose centre is what the latent must carry."""
    centre = torch.rand(rows, 2, generator=generator) * (SIZE - 4) + 2
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    distance = ((yy[None] - centre[:, 0, None, None]) ** 2
                + (xx[None] - centre[:, 1, None, None]) ** 2).sqrt()
    return torch.exp(-(distance - 2.0) ** 2)[:, None] * 0.9 + 0.05


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(SIZE * SIZE, 64), nn.ReLU())
        self.mu, self.log_var = nn.Linear(64, LATENT), nn.Linear(64, LATENT)
        self.decoder = nn.Sequential(nn.Linear(LATENT, 64), nn.ReLU(),
                                     nn.Linear(64, SIZE * SIZE), nn.Sigmoid())

    def forward(self, x):
        h = self.encoder(x)
        mu, log_var = self.mu(h), self.log_var(h)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decoder(z).view_as(x), mu, log_var


def kl_rows(mu, log_var, reduce):
    return -0.5 * reduce(1 + log_var - mu.pow(2) - log_var.exp(), dim=-1)


def mean_losses(x, out, mu, log_var):
    """World Models' bug: a per-pixel mean reconstruction (x10) beside a per-unit mean KL."""
    error = 10 * torch.mean((x.flatten(1) - out.flatten(1)) ** 2, dim=-1)
    return torch.mean(error + kl_rows(mu, log_var, torch.mean))


def summed_losses(x, out, mu, log_var):
    """The fix: each term summed over its dimensions, averaged over the batch."""
    error = torch.sum((x.flatten(1) - out.flatten(1)) ** 2, dim=-1)
    return torch.mean(error + kl_rows(mu, log_var, torch.sum))


def vae_run(loss_fn, seed=334400):
    def train():
        generator = torch.Generator().manual_seed(seed)
        x_train, x_val = rings(1500, generator), rings(300, generator)
        torch.manual_seed(seed)
        model = VAE()
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
        for _ in range(15):
            model.train()
            order = torch.randperm(len(x_train))
            for i in range(0, len(x_train), 32):
                batch = x_train[order[i:i + 32]]
                loss = loss_fn(batch, *model(batch))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                loss_fn(x_val, *model(x_val)).item()

    return record(train)


def reported(findings):
    return [f for f in findings if f.confidence >= REPORT_THRESHOLD]


def test_a_kl_term_held_at_its_floor_while_the_reconstruction_stalls_is_over_regularized():
    [finding] = reported(check(vae_run(mean_losses)))
    assert finding.cause is OVER_REGULARIZED
    assert finding.evidence["held_share"] < HELD_TERM_SHARE
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert finding.experiment.measure == "data term"
    assert "weight" in finding.fix


def test_a_vae_whose_terms_are_summed_alike_is_not_blamed():
    assert reported(check(vae_run(summed_losses))) == []


def test_the_loss_is_split_through_its_reductions_into_data_term_and_regularizer():
    case = vae_run(mean_losses, seed=334401)
    terms = split_terms(case.copies.replay_loss)
    model, batch = case.copies.initial_model, case.replayer.train_batches[0]
    torch.manual_seed(0)
    whole = float(case.copies.replay_loss.loss(model, batch))
    torch.manual_seed(0)
    data = float(terms.data.loss(model, batch))
    torch.manual_seed(0)
    regularizer = float(terms.regularizer.loss(model, batch))
    assert abs(whole - data - regularizer) < 1e-5
    torch.manual_seed(0)
    assert abs(float(terms.weighted(0.1).loss(model, batch)) - data - 0.1 * regularizer) < 1e-5
