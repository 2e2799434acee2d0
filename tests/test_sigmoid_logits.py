"""A sigmoid at the output given to a loss on logits: read from the output's graph, whatever its
values (checks/_sigmoid_logits.py, through loss_setup's loss_mismatch)."""

import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks._unclamped import without_last
from lossdoctor.checks.loss_setup import LOSS_MISMATCH, check


def _data(rows=400, seed=0):
    """Binary labels, about a fifth positive: BCE on a sigmoid output pushes it down, below the
    0.5 the values-only rule waited for (dev 420008: 0.09 to 0.496 over 20 sampled calls)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0.9).float()


def _hand_written_bce_with_logits(logit, target):
    return -(target * nn.functional.logsigmoid(logit)
             + (1 - target) * nn.functional.logsigmoid(-logit)).mean()


def _hand_written_log_of_sigmoid(logit, target):
    """The textbook form: the log of a sigmoid the loss takes itself."""
    p = torch.sigmoid(logit)
    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


def _run(head, loss_fn, epochs=3):
    x, y = _data()
    torch.manual_seed(0)
    model = nn.Sequential(mlp(6, 16, 1), *head, nn.Flatten(0))
    with torch.no_grad():
        model[0][2].bias.fill_(-0.5)  # a sigmoid output starting below 0.5, pushed down
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return record(fit, model, optimizer, loss_fn, (x[:300], y[:300]), (x[300:], y[300:]),
                  epochs=epochs)


def test_a_sigmoid_output_below_one_half_fed_to_bce_with_logits_is_a_loss_mismatch():
    case = _run([nn.Sigmoid()], nn.BCEWithLogitsLoss())
    assert max(s.prediction_max for s in case.trace.loss_inputs) < 0.5
    [finding] = check(case)
    assert finding.cause is LOSS_MISMATCH and finding.evidence["output_bounded_to_unit"] == 1.0
    assert finding.evidence["val_loss_after"] < finding.evidence["val_loss_before"]
    assert "final sigmoid taken out" in finding.experiment.description
    assert "sigmoid taken out, the validation loss goes from" in finding.verdict


def test_a_sigmoid_output_fed_to_a_hand_written_bce_with_logits_is_a_loss_mismatch():
    [finding] = check(_run([nn.Sigmoid()], _hand_written_bce_with_logits))
    assert finding.cause is LOSS_MISMATCH and finding.evidence["output_bounded_to_unit"] == 1.0
    assert "your hand-written loss (like binary_cross_entropy_with_logits) applies" in (
        finding.verdict)


def test_a_sigmoid_output_fed_to_a_textbook_log_of_sigmoid_is_a_loss_mismatch():
    [finding] = check(_run([nn.Sigmoid()], _hand_written_log_of_sigmoid))
    assert finding.cause is LOSS_MISMATCH and finding.evidence["output_bounded_to_unit"] == 1.0


def test_the_same_models_without_the_sigmoid_are_quiet():
    assert check(_run([], nn.BCEWithLogitsLoss())) == []
    assert check(_run([], _hand_written_bce_with_logits)) == []


def test_the_loss_floor_counts_a_positive_row_at_sigmoid_of_one_and_a_negative_at_one_half():
    case = _run([nn.Sigmoid()], nn.BCEWithLogitsLoss(), epochs=1)
    [finding] = check(case)
    share = float(_data()[1][:300].mean())
    expected = share * 0.3133 + (1 - share) * 0.6931
    assert abs(finding.evidence["loss_floor"] - expected) < 0.01


def test_taking_the_last_sigmoid_out_gives_the_logits():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
    x = torch.randn(5, 3)
    unsquashed = without_last(model, x, lambda m, b: m(b), "sigmoid")
    assert torch.allclose(unsquashed(x), model[:3](x))
