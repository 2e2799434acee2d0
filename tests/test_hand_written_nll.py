"""A hand-written negative log-likelihood, ``-out.gather(1, y[:, None]).mean()``, on the model's
raw scores (no log_softmax anywhere): a loss mismatch, as F.nll_loss on raw scores is. On
ba096c2 a hand-written loss was held against label_range and shape_broadcast only, and the dev
cases of nll_on_raw_logits written so (352005, 352007) got bad_init or underfit_capacity first."""

import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks.loss_setup import LOSS_MISMATCH, check


def _data(rows=400, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    y = (x[:, 0] > 0).long() * 2 + (x[:, 1] > 0).long()
    return (x[:300], y[:300]), (x[300:], y[300:])


def _nll_on_scores(scores, y):
    return -scores.gather(1, y.unsqueeze(1)).mean()


def _nll_on_log_softmax(scores, y):
    return _nll_on_scores(torch.log_softmax(scores, dim=1), y)


def _run(model, loss_fn):
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    return record(fit, model, optimizer, loss_fn, *_data(), epochs=3)


def test_a_hand_written_nll_on_raw_scores_is_a_loss_mismatch():
    torch.manual_seed(0)
    [finding] = check(_run(mlp(6, 16, 4), _nll_on_scores))
    assert finding.cause is LOSS_MISMATCH
    assert finding.verdict.startswith("Your hand-written loss (like nll_loss) expects "
                                      "log-probabilities")
    assert "raw scores with positive values" in finding.verdict and finding.confidence >= 0.9


def test_a_hand_written_nll_on_log_probabilities_is_quiet():
    torch.manual_seed(0)
    assert check(_run(mlp(6, 16, 4), _nll_on_log_softmax)) == []
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 4), nn.LogSoftmax(dim=1))
    assert check(_run(model, _nll_on_scores)) == []
