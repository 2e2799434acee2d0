"""A hand-written loss's last scaling by a number (loss_program.Scale): kept in replays, made
from the batch's rows when its divisor is a multiple of them, and left out only for gradient
accumulation. On 5d515c6 every scaling was left out: Caffe's Euclidean loss
``sum / (2 * rows)`` was replayed as its sum (bench/fresh26 s07, every replay diverged)."""

import math

import pytest
import torch

from conftest import mlp, record
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.sample import Batch


def euclidean(pred, label):
    """Caffe's EuclideanLoss: the squared error summed, divided by twice the batch's rows."""
    return ((pred - label) ** 2).sum() / (2 * pred.size(0))


def halved_mse(pred, label):
    return 0.5 * ((pred - label) ** 2).mean()


def _data():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(448, 6, generator=generator)
    return x, torch.tanh(x @ torch.randn(6, 3, generator=generator))


def regression_run(loss_fn, backward_per_step=1, epochs=2):
    """Batches of 32 rows, an optimizer step every ``backward_per_step`` backward passes (the
    loss divided by it then, as gradient accumulation is written), validation on 64 rows."""
    x, y = _data()
    torch.manual_seed(0)
    model = mlp(6, 16, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train():
        for _ in range(epochs):
            for index, start in enumerate(range(0, 384, 32)):
                loss = loss_fn(model(x[start:start + 32]), y[start:start + 32])
                (loss / backward_per_step if backward_per_step > 1 else loss).backward()
                if (index + 1) % backward_per_step == 0:
                    optimizer.step()
                    optimizer.zero_grad()
            with torch.no_grad():
                loss_fn(model(x[384:]), y[384:])

    return record(train)


def _first_batch_loss(case) -> tuple[float, float]:
    """The recorded first training loss, and the replay's on the first kept batch."""
    first = case.trace.train_losses()[0]
    batch = case.replayer.train_batches[0]
    with torch.no_grad():
        replayed = float(case.copies.replay_loss.loss(case.copies.initial_model, batch))
    return first.value, replayed


@pytest.mark.parametrize("loss_fn", [euclidean, halved_mse])
def test_a_loss_scaled_by_a_number_is_replayed_at_the_scale_it_trained_on(loss_fn):
    case = regression_run(loss_fn)
    assert isinstance(case.copies.replay_loss, LossProgram)
    recorded, replayed = _first_batch_loss(case)
    assert replayed == pytest.approx(recorded, rel=1e-4)


def test_a_divisor_made_of_the_batch_size_follows_the_rows_of_the_batch_replayed():
    """64 validation rows are divided by 2 x 64, as the script's own function does."""
    case = regression_run(euclidean)
    x, y = _data()
    model = case.copies.initial_model
    batch = Batch((x[384:],), {}, y[384:], 64)
    with torch.no_grad():
        assert float(case.copies.replay_loss.loss(model, batch)) == pytest.approx(
            float(euclidean(model(x[384:]), y[384:])), rel=1e-4)


def test_gradient_accumulation_is_replayed_as_one_pass_on_the_loss():
    """``loss / 4`` over four backward passes per step is the mean of four batches' losses: a
    replay of one pass per step trains on the loss itself (the recorded value is a quarter)."""
    case = regression_run(halved_mse, backward_per_step=4)
    recorded, replayed = _first_batch_loss(case)
    assert case.trace.steps == 6
    assert replayed == pytest.approx(4 * recorded, rel=1e-4)


def test_the_constant_guess_of_a_summed_loss_is_in_the_units_it_records():
    """The best constant (the training rows' mean) scored by the script's own loss on the
    validation rows: the level a plateau is compared with."""
    case = regression_run(euclidean)
    x, y = _data()
    train_mean = y[:384].mean(0)
    expected = float(((y[384:] - train_mean) ** 2).sum() / (2 * 64))
    guess = case.constant_guess_loss("validation")
    assert guess is not None and math.isclose(guess, expected, rel_tol=0.05)
