"""An evaluation of rows alike the training data's is a training-split estimate only when it
scores near the training loss (capture/training_estimate.py)."""

import torch
from torch import nn

from conftest import record
from lossdoctor.capture.training_estimate import far_above_training
from lossdoctor.checks import validation_path
from lossdoctor.checks.validation_path import VALIDATION_PATH
from lossdoctor.trace import LossRecord

WAVES, LENGTH, PERIOD, HELD = 40, 48, 8.0, 4


def _waves(seed: int) -> torch.Tensor:
    """Windows of one sine over integers, each shifted by a small random integer: the held
    waves' content recurs in the training waves (time_sequence_prediction's data)."""
    generator = torch.Generator().manual_seed(seed)
    shifts = torch.randint(-2 * int(PERIOD), 2 * int(PERIOD), (WAVES, 1), generator=generator)
    return torch.sin((torch.arange(LENGTH) + shifts) / PERIOD)


class Forecaster(nn.Module):
    """Next values of a wave; with ``future``, that many more forecast past its end (as
    time_sequence_prediction's Sequence, which only the test calls with it)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(LENGTH - 1, LENGTH - 1)

    def forward(self, wave, future=0):
        observed = self.linear(wave)
        return torch.cat([observed, observed[:, -future:]], 1) if future else observed


FUTURE = LENGTH // 4


def _fit_waves(misaligned: bool, seed=0, steps=60):
    """Full-batch next-value regression; after each step a test loss on the held waves, on
    the observed positions or on the positions shifted by the forecast (a wrong slice of the
    output)."""
    data = _waves(seed)
    torch.manual_seed(seed)
    model = Forecaster()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.MSELoss()
    train, test = data[HELD:], data[:HELD]
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(train[:, :-1]), train[:, 1:]).backward()
        optimizer.step()
        with torch.no_grad():
            prediction = model(test[:, :-1], future=FUTURE)
            kept = prediction[:, FUTURE:] if misaligned else prediction[:, :-FUTURE]
            loss_fn(kept, test[:, 1:])


def _phases(case) -> set[str]:
    return {r.phase for r in case.trace.losses if r.phase != "train"}


def test_a_test_loss_far_above_training_on_training_like_rows_stays_the_validation_curve():
    case = record(_fit_waves, misaligned=True)
    assert _phases(case) == {"eval"}
    assert case.copies.validation.batches
    assert any("not a training-split estimate" in note for note in case.trace.notes)
    assert all("future" not in batch.kwargs for batch in case.copies.validation.batches)
    [finding] = validation_path.check(case)  # the rows scored as training scores them
    assert finding.cause is VALIDATION_PATH


def test_a_test_loss_near_training_on_training_like_rows_is_a_training_split_estimate():
    case = record(_fit_waves, misaligned=False)
    assert _phases(case) == {"train_eval"}


def _records(values_and_phases):
    return [LossRecord(value=v, rows=1, phase=p, step=i) for i, (v, p) in
            enumerate(values_and_phases)]


def test_an_evaluation_after_the_training_loss_jumped_is_not_far_above_it():
    losses = _records([(0.01, "train")] * 8 + [(5.0, "eval")] + [(6.0, "train")] * 8)
    assert not far_above_training([losses[8]], losses)


def test_evaluations_far_above_the_training_around_them_are_found():
    losses = _records(([(0.01, "train")] * 4 + [(0.9, "eval")]) * 4)
    assert far_above_training([r for r in losses if r.phase == "eval"], losses)
