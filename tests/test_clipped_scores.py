"""Raw scores clipped into [eps, 1 - eps] before binary_cross_entropy (Keras 3's
binary_crossentropy on a Dense(1) without activation does exactly this; here by hand): a loss
mismatch, not a saturated sigmoid; and a replay of a loss that adds the target's last axis
itself (Keras expands (B,) labels to (B, 1) inside its loss) pairs the kept batches with the
target the loss computation reads. All fail on ba096c2: it reported no loss_mismatch, called
the clipped scores a saturated sigmoid, and its replays gave the kept batches a (B, 1) target
that the loss expanded again to (B, 1, 1)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, record
from lossdoctor.checks import loss_setup, saturated_activation
from lossdoctor.experiments import Plan

EPS = 1e-7


def _binary_data(column: bool, rows=400, seed=0):
    """Labels (N, 1), or (N,) for a loss that adds the last axis itself."""
    generator = torch.Generator().manual_seed(seed)
    x = 4 * torch.randn(rows, 6, generator=generator)  # raw scores start far outside (0, 1)
    y = (x[:, 0] - x[:, 1] > 0).float()
    y = y[:, None] if column else y
    return (x[:300], y[:300]), (x[300:], y[300:])


def _clipped_bce(prediction, y, eps=EPS):
    """Keras' binary_crossentropy on the torch backend: the prediction clipped into
    [1e-7, 1 - 1e-7]."""
    return F.binary_cross_entropy(prediction.clamp(eps, 1 - eps), y)


def _clamped_bce(prediction, y):
    """The prediction clamped into [0, 1] by hand."""
    return _clipped_bce(prediction, y, eps=0.0)


def _keras_bce(prediction, y):
    """... with (B,) labels expanded to the prediction's (B, 1) inside the loss, as Keras
    does."""
    return _clipped_bce(prediction, y.unsqueeze(-1))


def _sigmoid_then_clipped_bce(prediction, y):
    return _clipped_bce(torch.sigmoid(prediction), y)


def _run(head, loss_fn, column=True):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1), *head)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    return record(fit, model, optimizer, loss_fn, *_binary_data(column), epochs=4)


@pytest.fixture(scope="module")
def raw_scores():
    return _run((), _clipped_bce)


def test_raw_scores_clipped_before_bce_are_a_loss_mismatch(raw_scores):
    [finding] = loss_setup.check(raw_scores)
    assert finding.cause is loss_setup.LOSS_MISMATCH
    assert finding.evidence["clip_low"] == pytest.approx(EPS)
    assert finding.evidence["model_output_min"] < 0 < 1 < finding.evidence["model_output_max"]
    assert "no sigmoid at the end" in finding.verdict and "sigmoid" in finding.fix


def test_raw_scores_clamped_into_zero_and_one_before_bce_are_a_loss_mismatch():
    [finding] = loss_setup.check(_run((), _clamped_bce))
    assert finding.cause is loss_setup.LOSS_MISMATCH and finding.evidence["clip_low"] == 0


def test_raw_scores_clipped_before_bce_are_no_saturated_sigmoid(raw_scores):
    assert saturated_activation.check(raw_scores) == []


def test_a_loss_that_expands_its_target_is_replayed_on_the_target_it_reads():
    case = _run((nn.Sigmoid(),), _keras_bce, column=False)
    kept = case.copies.train.batches + case.copies.validation.batches
    assert kept and all(b.target.dim() == 1 for b in kept)
    result = case.require_replay().replay(Plan(steps=10, evaluations=2))
    assert len(result.train_losses) == 10


@pytest.mark.parametrize("twin", ["sigmoid in the model", "sigmoid in the loss"])
def test_a_sigmoid_before_the_clip_is_quiet(twin):
    case = (_run((nn.Sigmoid(),), _clipped_bce) if twin == "sigmoid in the model"
            else _run((), _sigmoid_then_clipped_bce))
    assert loss_setup.check(case) == []
    assert saturated_activation.check(case) == []
    assert case.require_replay().replay(Plan(steps=10, evaluations=2)).train_losses
