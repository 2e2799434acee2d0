"""How a recorded loss, and each of its terms, grows with the rows it is computed on: a mean
stays, a sum doubles (checks/_row_scaling.py)."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.checks._row_scaling import sums_over_rows, term_scalings
from lossdoctor.sandbox import isolated


class _Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = nn.Linear(16, 8), nn.Linear(4, 16)

    def forward(self, x):
        mu, logvar = self.encoder(x).chunk(2, 1)
        return self.decoder(mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)), mu, logvar


def _vae_case(reconstruction):
    """A VAE's loss, a reconstruction BCE (``reduction``) plus a KL summed over the batch
    (bench/fresh17 s10: the BCE averaged, so the KL weighs 16 x 64 times too much)."""
    torch.manual_seed(0)
    x = (torch.rand(256, 16) < 0.3).float()
    model = _Vae()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train():
        for rows in torch.arange(256).split(64):
            recon, mu, logvar = model(x[rows])
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = F.binary_cross_entropy_with_logits(recon, x[rows], reduction=reconstruction)
            optimizer.zero_grad()
            (loss + kld).backward()
            optimizer.step()
    return record(train)


def _scorers(case):
    replayer = case.require_replay()
    model = copy.deepcopy(case.copies.initial_model).eval()

    def score_with(term):
        def score(batch):
            with isolated(0), torch.no_grad():
                return float(term.loss(replayer.placed(model), replayer._placed_batch(batch)))
        return score
    return score_with, replayer.train_batches


def test_a_summed_kl_beside_a_mean_reconstruction_is_told_apart():
    case = _vae_case("mean")
    [bce, kld] = term_scalings(case.copies.loss_replay, *_scorers(case))
    assert (bce.sums, kld.sums) == (False, True)
    assert kld.share > 0.9  # s20's figure on fresh17 s10: 96% of the untrained model's loss


def test_both_terms_summed_scale_alike():
    case = _vae_case("sum")
    assert [t.sums for t in term_scalings(case.copies.loss_replay, *_scorers(case))] == [
        True, True]


def test_a_mean_and_a_sum_are_told_apart_on_heavy_tailed_rows():
    """A few rows carry most of a trained classifier's loss: one half of a batch can weigh
    ten times the other, and only whole = sum or mean of the two halves tells them apart."""
    losses = torch.tensor([0.01] * 30 + [4.0, 6.0])
    from lossdoctor.capture.sample import Batch

    batch = Batch((torch.arange(32.0)[:, None],), {}, losses, 32)
    assert sums_over_rows(lambda b: float(b.target.sum()), [batch]) is True
    assert sums_over_rows(lambda b: float(b.target.mean()), [batch]) is False
