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


def _nll_on_softmax(scores, y):
    return _nll_on_scores(torch.softmax(scores, dim=1), y)


def test_a_hand_written_nll_on_a_softmax_taken_on_the_way_is_a_loss_mismatch():
    """The softmax in the loop hides the likeness from the model's output (dev 420641,
    softmax_in_loop_then_nll, called healthy): it is read on the softmax of it."""
    torch.manual_seed(0)
    [finding] = check(_run(mlp(6, 16, 4), _nll_on_softmax))
    assert finding.cause is LOSS_MISMATCH
    assert finding.verdict.startswith("Your hand-written loss (like nll_loss, given the softmax "
                                      "of the model's output) expects log-probabilities")
    assert "probabilities (rows that sum to 1)" in finding.verdict
    assert "log_softmax" in finding.fix


def test_a_hand_written_squared_error_on_a_sigmoid_of_the_output_is_quiet():
    """A loss of a known kind on an activation of the output, given what it takes."""
    torch.manual_seed(0)
    (x, y), (x_val, y_val) = _data()
    binary = ((y % 2).float()[:, None], (y_val % 2).float()[:, None])

    def squared_error_of_sigmoid(out, target):
        return ((torch.sigmoid(out) - target) ** 2).mean()

    optimizer = torch.optim.SGD((model := mlp(6, 16, 1)).parameters(), lr=1e-2, momentum=0.9)
    case = record(fit, model, optimizer, squared_error_of_sigmoid, (x, binary[0]),
                  (x_val, binary[1]), epochs=3)
    assert check(case) == []


def test_a_hand_written_nll_on_raw_scores_all_below_zero_is_a_loss_mismatch():
    """Scores at or below 0 are no log-probabilities when a row's exps do not sum to 1 (an
    untrained head whose biases all drew negative)."""
    torch.manual_seed(0)
    model = mlp(6, 16, 4)
    with torch.no_grad():
        model[-1].weight.mul_(0.01)
        model[-1].bias.fill_(-3.0)
    [finding] = check(_run(model, _nll_on_scores))
    assert finding.cause is LOSS_MISMATCH
    assert "the exps of a row do not sum to 1" in finding.verdict
