import math

import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.blow_up import blow_up_start, finite_rows, grew_before
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.sample import Batch, BatchSample
from lossdoctor.capture.tensors import tensors_in
from lossdoctor.case import Case
from lossdoctor.checks import exploding_gradients, no_signal
from lossdoctor.checks.exploding_gradients import EXPLODING_GRADIENTS
from lossdoctor.checks.nan_inf import (
    GRADIENT_GROWTH_DECADES,
    NAN_INF,
    Symptoms,
    _symptom_verdict,
    bad_data,
    check,
)
from lossdoctor.diagnosis import rank
from lossdoctor.experiments import Plan
from lossdoctor.findings import Finding, Skip
from lossdoctor.trace import Trace


def _regression(rows=600, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    return x, (x[:, 0] - 0.5 * x[:, 3]).unsqueeze(1)


def _case(x, y, lr=1e-2, epochs=4, loss_fn=None):
    torch.manual_seed(0)
    model = mlp(x.shape[1], 16, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, loss_fn or nn.MSELoss(), (x[:500], y[:500]),
                  (x[500:], y[500:]), epochs=epochs)


def test_nan_in_one_input_column_is_found_with_its_rows_and_dropping_them_fixes_training():
    x, y = _regression()
    x[::50, 2] = float("nan")  # 12 rows: 10 training, 2 validation
    [finding] = check(_case(x, y))
    assert finding.cause is NAN_INF and finding.confidence >= 0.9
    assert finding.evidence["nonfinite_rows_in_training_inputs"] == 10
    assert finding.evidence["nonfinite_rows_in_validation_inputs"] == 2
    assert finding.evidence["nonfinite_loss_fraction"] > 0.5
    assert "(column 2)" in finding.verdict
    assert finding.experiment.after < 0.1
    assert finding.details["bad_data"][0]["nans"] == 10
    assert finding.root and finding.evidence["loss_grew_before_nonfinite"] == 0.0
    assert "training mean" in finding.fix  # inputs may be filled in


def test_infinite_targets_are_found_as_targets():
    x, y = _regression()
    y[7] = float("inf")
    [finding] = check(_case(x, y))
    assert finding.evidence["nonfinite_rows_in_training_targets"] == 1
    assert "training targets hold infinite values in 1 of 500" in finding.verdict
    assert finding.fix.startswith("Drop the rows whose target") and "mean" not in finding.fix


def test_a_loss_that_turns_nan_in_training_is_reported_with_its_first_step():
    x, y = _regression()
    torch.manual_seed(0)
    model = mlp(6, 16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)  # overflows to inf, then NaN
    case = record(fit, model, optimizer, nn.MSELoss(), (x[:500], y[:500]), (x[500:], y[500:]),
                  epochs=2)
    assert bad_data(case.copies) == []
    [finding] = check(case)
    assert finding.confidence == pytest.approx(0.6)
    assert finding.evidence["first_nonfinite_loss_step"] > 0
    assert finding.evidence["nonfinite_loss_fraction"] > 0.5
    assert "holds no NaN or inf" in finding.verdict
    assert finding.evidence["loss_grew_before_nonfinite"] == 1.0


def test_nan_after_growth_is_told_from_nan_where_the_loss_stood():
    """nan_after_growth: a loss that multiplied before NaN blew up; a falling one met bad data."""
    grew = [(0, 1.0), (1, 1.1), (2, 0.9), (3, 5.0), (4, 40.0), (5, 900.0), (6, math.nan)]
    fell = [(0, 1.0), (1, 0.8), (2, 0.7), (3, 0.6), (4, 0.5), (5, 0.5), (6, math.nan)]
    assert grew_before(grew, 6)
    assert not grew_before(fell, 6)
    assert not grew_before([(0, math.nan), (1, 5.0)], 0)  # non-finite from step 0
    assert not grew_before([(0, 1.0), (1, math.inf)], 1)  # too few finite steps to tell
    assert blow_up_start(grew) == 3 and blow_up_start(fell) is None


class _CarriedState(nn.Module):
    """A model fed its own previous output as a second input (a state carried between steps)."""

    def __init__(self):
        super().__init__()
        self.net = mlp(7, 16, 1)

    def forward(self, x, state):
        return self.net(torch.cat([x, state], dim=1))


def _train_with_state(model, optimizer, x, y, epochs=3):
    state = torch.zeros(1, 1)
    for _ in range(epochs):
        for i in range(0, len(x), 32):
            optimizer.zero_grad()
            out = model(x[i:i + 32], state.expand(len(x[i:i + 32]), 1))
            nn.functional.mse_loss(out, y[i:i + 32]).backward()
            optimizer.step()
            state = out.detach().mean().reshape(1, 1)


def _carried_state_case():
    """A regression whose fed-back state turns NaN after SGD at lr 0.5 blows it up."""
    torch.manual_seed(0)
    x = torch.randn(500, 6)
    y = x @ torch.randn(6, 1)
    model = _CarriedState()
    return record(_train_with_state, model, torch.optim.SGD(model.parameters(), lr=0.5), x, y)


def test_nan_reaching_the_inputs_after_growth_follows_the_growths_cause():
    """nan_after_growth: at lr 0.5 the loss grows from 2 to 1e37, then the state fed back turns
    NaN: found in the inputs, but not a root, so a cause that blows training up leads."""
    [finding] = check(_carried_state_case())
    assert finding.evidence["nonfinite_rows_in_training_inputs"] > 0
    assert not finding.root and finding.evidence["loss_grew_before_nonfinite"] == 1.0
    ranked = rank([finding, Finding(EXPLODING_GRADIENTS, 0.9, verdict="v", evidence={})])
    assert ranked[0].cause is EXPLODING_GRADIENTS
    assert finding.explained_by == ["exploding_gradients"]
    assert "after training blew up" in finding.verdict and "clean" not in finding.fix


def test_nan_after_gradients_grew_by_orders_of_magnitude_names_exploding_gradients():
    """Issue 11: the verdict names what made the NaN when the gradient norm grew 100-fold or
    more before it; the blow-up here is steps too large on every call, which a replay shows
    too, so exploding_gradients does not call it a loop over time steps."""
    case = _carried_state_case()
    [finding] = check(case)
    assert finding.evidence["gradient_growth_decades_before_nonfinite"] >= GRADIENT_GROWTH_DECADES
    assert "exploding gradients produced them" in finding.verdict
    assert "clip_grad_norm_" in finding.verdict
    assert not any("loop over time steps" in f.verdict for f in exploding_gradients.check(case))


def test_nan_where_the_gradient_norm_stayed_level_names_no_explosion():
    symptoms = Symptoms(10, 0.5, 10, ["w"], 1, grew_first=True, gradient_start=1.0,
                        gradient_peak=30.0)
    assert not symptoms.gradients_exploded
    assert "exploding gradients" not in _symptom_verdict(symptoms)


def test_replays_after_a_blow_up_train_without_the_rows_it_fed_back():
    """The NaN state the blow-up fed back is left out of the replays, so an experiment on a
    copy starts from the user's data: the baseline replay is finite again at a lower rate."""
    torch.manual_seed(0)
    x = torch.randn(500, 6)
    y = x @ torch.randn(6, 1)
    model = _CarriedState()
    case = record(_train_with_state, model, torch.optim.SGD(model.parameters(), lr=0.5), x, y)
    assert bad_data(case.copies)  # the capture keeps what the run was fed
    replayed = case.replayer.train_batches + case.replayer.validation_batches
    assert replayed and not any(_holds_nonfinite(b) for b in replayed)
    lower = case.replayer.replay(Plan(hparams={"lr": 0.01}, steps=100))
    assert math.isfinite(lower.final_validation)


def test_rows_taken_out_of_a_batch_keep_the_step_it_was_kept_at():
    batch = Batch((torch.tensor([[1.0], [math.nan], [2.0]]),), {}, torch.zeros(3), 3, step=40)
    assert finite_rows(batch).rows == 2 and finite_rows(batch).step == 40
    sample = BatchSample()
    sample.add(Batch((torch.tensor([[1.0], [2.0]]),), {}, torch.zeros(2), 2, step=3))
    sample.add(Batch((torch.tensor([[1.0], [5.0], [6.0]]),), {}, torch.zeros(3), 3, step=9))
    assert [(b.rows, b.step) for b in sample.batches] == [(2, 3), (2, 9)]


def _holds_nonfinite(batch) -> bool:
    return any(not torch.isfinite(t).all() for t in tensors_in((batch.args, batch.target)))


def test_a_healthy_run_is_not_flagged():
    x, y = _regression()
    assert check(_case(x, y)) == []


def test_without_losses_or_batches_the_check_skips():
    with pytest.raises(Skip, match="needs training losses or captured batches"):
        check(Case(Trace(), Copies()))


def test_checks_that_fit_on_the_targets_skip_infinite_ones_instead_of_failing():
    """log(0) targets: nan_inf names them; the checks that fit models on the table skip."""
    x, y = _regression()
    y[::40] = float("-inf")
    case = _case(x, y)
    assert check(case)[0].cause is NAN_INF
    with pytest.raises(Skip, match="finite targets"):
        no_signal.check(case)
