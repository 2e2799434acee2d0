"""Training written without torch.optim, as courses teach it: plain tensors ``w`` and ``b``
updated by ``w -= lr * w.grad`` under no_grad, the target picked out of the whole data set
inside the loss (``y_train[idx]``). The checks' replays run on such scripts: a learning rate
far off or inputs in raw units get their cause, the fixed twin gets none."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import record
from lossdoctor.capture.update_rule import Rule, StepSums, fitted_rule
from lossdoctor.checks import learning_rate, unnormalized_inputs
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip

ROWS, VAL_ROWS, FEATURES, BATCH = 500, 200, 6, 50


def _data(raw_units: bool, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(ROWS + VAL_ROWS, FEATURES, generator=generator)
    y = x @ torch.randn(FEATURES, 1, generator=generator) + 2.0
    if raw_units:  # columns in their own units, up to thousands, never standardized
        x = x * torch.logspace(0, 3, FEATURES) + 50
    return x[:ROWS], y[:ROWS], x[ROWS:], y[ROWS:]


def linear_regression_by_hand(lr: float, raw_units: bool = False, epochs: int = 8):
    x_train, y_train, x_val, y_val = _data(raw_units)
    torch.manual_seed(0)
    w = torch.randn(FEATURES, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def model(x):
        return x @ w + b

    for _ in range(epochs):
        order = torch.randperm(ROWS)
        for start in range(0, ROWS, BATCH):
            idx = order[start:start + BATCH]
            loss = ((model(x_train[idx]) - y_train[idx]) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                w -= lr * w.grad
                b -= lr * b.grad
                w.grad.zero_()
                b.grad.zero_()
        with torch.no_grad():
            ((model(x_val) - y_val) ** 2).mean().item()


def reported(findings) -> set[str]:
    return {f.cause.id for f in findings if f.confidence >= REPORT_THRESHOLD}


def test_a_target_picked_out_inside_the_loss_is_replayed_as_the_target():
    case = record(linear_regression_by_hand, 0.05)
    assert case.copies.optimizer_hparams == {"lr": pytest.approx(0.05)}
    replay = case.replayer.replay(Plan(steps=60))  # indexed y_val by itself before
    assert replay.validation_losses[-1] < 0.1 * replay.start_validation


@pytest.mark.parametrize("lr, cause", [(1e-5, learning_rate.LR_TOO_LOW),
                                       (3.0, learning_rate.LR_TOO_HIGH)])
def test_a_learning_rate_far_off_in_an_update_by_hand_is_found(lr, cause):
    case = record(linear_regression_by_hand, lr)
    assert cause.id in reported(learning_rate.check(case))


def test_a_healthy_update_by_hand_gets_no_learning_rate_finding():
    case = record(linear_regression_by_hand, 0.05)
    assert not reported(learning_rate.check(case))


def test_a_blown_up_update_by_hand_keeps_the_rate_it_trained_at():
    trace = record(linear_regression_by_hand, 3.0).trace
    assert trace.setup.lr_peak == pytest.approx(3.0)
    assert all(math.isfinite(lr) for _, lr in trace.setup.lr_schedule)
    assert all(math.isfinite(lr) for lr in trace.learning_rates)


def test_inputs_in_raw_units_updated_by_hand_are_found_and_standardized_ones_are_not():
    raw = record(linear_regression_by_hand, 5e-7, raw_units=True)
    assert unnormalized_inputs.UNNORMALIZED_INPUTS.id in reported(unnormalized_inputs.check(raw))
    standardized = record(linear_regression_by_hand, 0.05)
    assert not reported(unnormalized_inputs.check(standardized))


def two_layer_net_by_hand(rule: str, lr: float = 0.05, epochs: int = 4):
    """Nielsen-style: a velocity per parameter kept by hand, or a step of its own making."""
    x_train, y_train, x_val, y_val = _data(raw_units=False)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(FEATURES, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 1))
    velocity = [torch.zeros_like(p) for p in model.parameters()]
    for _ in range(epochs):
        for start in range(0, ROWS, BATCH):
            loss = torch.nn.functional.mse_loss(model(x_train[start:start + BATCH]),
                                                y_train[start:start + BATCH])
            model.zero_grad()
            loss.backward()
            for p, v in zip(model.parameters(), velocity, strict=True):
                if rule == "momentum":
                    v.mul_(0.9).add_(p.grad + 0.1 * p.data)
                    p.data.add_(v, alpha=-lr)
                elif rule == "sign":
                    p.data.add_(p.grad.sign(), alpha=-lr)
                else:
                    p.data.add_(-lr * p.grad)
        with torch.no_grad():
            torch.nn.functional.mse_loss(model(x_val), y_val).item()


@pytest.mark.parametrize("rule, hparams", [
    ("plain", {"lr": 0.05}),
    ("momentum", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1})])
def test_the_sgd_rule_of_an_update_by_hand_is_read_and_replayed(rule, hparams):
    case = record(two_layer_net_by_hand, rule)
    assert case.trace.setup.optimizer_class == "manual SGD update"
    assert case.copies.optimizer_class is torch.optim.SGD
    assert case.copies.optimizer_hparams == pytest.approx(hparams, rel=1e-3)


def test_an_update_by_hand_that_follows_no_sgd_rule_says_which_checks_cannot_run():
    case = record(two_layer_net_by_hand, "sign")
    assert case.trace.setup.optimizer_class == "manual update"
    with pytest.raises(Skip, match="updated by hand.*cannot replay"):
        learning_rate.check(case)


def _sums(change, gradient, values, previous=None) -> StepSums:
    sums = StepSums()
    sums.add(change, gradient, values, previous)
    return sums


def test_a_step_is_read_as_the_simplest_sgd_rule_that_makes_it():
    generator = torch.Generator().manual_seed(0)
    g, p, previous = (torch.randn(200, generator=generator) for _ in range(3))
    assert fitted_rule(_sums(-0.1 * g, g, p, previous)) == Rule(0.1)
    decayed = 0.9 * previous - 0.1 * g - 0.1 * 0.5 * p
    assert fitted_rule(_sums(decayed, g, p, previous)) == Rule(0.1, 0.9, 0.5)
    assert fitted_rule(_sums(-0.1 * g.sign(), g, p, previous)) is None
    assert not _sums(torch.zeros(200), g, p, previous).telling  # a step at rate 0 tells nothing



def _linear_regression_by_hand():
    """A course's demo: w and b updated by plain SGD at 0.05 written by hand."""
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w, b = torch.randn(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    for _ in range(80):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        b.data.sub_(0.05 * b.grad)
        w.data.sub_(0.05 * w.grad)
        w.grad.data.zero_()
        b.grad.data.zero_()


def test_a_step_of_a_few_numbers_is_read_as_plain_sgd_not_a_richer_rule_that_fits_anything():
    """linear_regression_manual_grads: w and b (two numbers) updated by plain SGD at 0.05 were
    read as lr 0.0004, momentum 0.77 and weight decay 105 (three terms fit two numbers to the
    last digit), and the replay of that rule blew up on a healthy run."""
    case = record(_linear_regression_by_hand)
    assert case.copies.optimizer_hparams == {"lr": pytest.approx(0.05, rel=1e-3)}
