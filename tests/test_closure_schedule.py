"""optimizer_choice on a few steps written for LBFGS and taken by a one-evaluation optimizer
(checks/_closure_schedule.py)."""

import torch
from torch import nn

from conftest import record
from lossdoctor.checks._closure_schedule import sized_for_lbfgs
from lossdoctor.checks.optimizer_choice import OPTIMIZER_CHOICE, check

STEPS = 6


def _closure_run(optimizer_class, lr=0.05, steps=STEPS, closure=True, seed=0):
    """Full-batch regression of a smooth target, a test loss after each step, as
    time_sequence_prediction's loop."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(240, 6, generator=generator)
    y = torch.tanh(x @ torch.randn(6, 1, generator=generator))
    train, test = (x[:200], y[:200]), (x[200:], y[200:])
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    optimizer = optimizer_class(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()

    def loop():
        for _ in range(steps):
            def step_loss():
                optimizer.zero_grad()
                loss = loss_fn(model(train[0]), train[1])
                loss.backward()
                return loss
            if closure:
                optimizer.step(step_loss)
            else:
                step_loss()
                optimizer.step()
            with torch.no_grad():
                loss_fn(model(test[0]), test[1])

    return record(loop)


def _found(case):
    return [f for f in check(case) if f.cause is OPTIMIZER_CHOICE]


def test_a_few_sgd_steps_given_an_lbfgs_closure_are_stuck_where_lbfgs_moves():
    case = _closure_run(torch.optim.SGD)
    assert sized_for_lbfgs(case)
    [finding] = _found(case)
    assert finding.evidence["val_after"] < finding.evidence["val_before"]
    assert "LBFGS" in finding.fix and "closure" in finding.verdict


def test_lbfgs_with_its_closure_is_quiet():
    case = _closure_run(torch.optim.LBFGS, lr=1.0)
    assert not sized_for_lbfgs(case)
    assert not _found(case)


def test_sgd_without_a_closure_is_not_read_as_sized_for_lbfgs():
    assert not sized_for_lbfgs(_closure_run(torch.optim.SGD, closure=False))
