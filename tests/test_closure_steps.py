"""Optimizer steps given a closure (``optimizer.step(closure)``, as LBFGS needs; pytorch/examples'
time_sequence_prediction trains this way): the model called inside the closure is the model,
the run is unchanged, and replays give their steps a closure too."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.capture import Recorder, watching
from lossdoctor.checks import unnormalized_inputs
from lossdoctor.experiments import Plan
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

ROWS, TRAIN_ROWS = 320, 256


def _data(input_scale: float = 1.0):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(ROWS, 4, generator=generator)
    y = x[:, :1] * 2 - x[:, 1:2] + 0.1 * torch.randn(ROWS, 1, generator=generator)
    x = x * input_scale
    return x[:TRAIN_ROWS], y[:TRAIN_ROWS], x[TRAIN_ROWS:], y[TRAIN_ROWS:]


def closure_training(optimizer_class=torch.optim.LBFGS, steps: int = 8, by_keyword=False,
                     input_scale: float = 1.0, **hparams):
    """Full-batch training with a closure; returns what each step returned and the model."""
    x, y, x_val, y_val = _data(input_scale)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    optimizer = optimizer_class(model.parameters(), **hparams)
    loss_fn = nn.MSELoss()
    returned = []
    for _ in range(steps):
        def closure():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss

        out = optimizer.step(closure=closure) if by_keyword else optimizer.step(closure)
        returned.append(out.item())
        with torch.no_grad():
            loss_fn(model(x_val), y_val)
    return returned, model


def lbfgs(**kwargs):
    return closure_training(torch.optim.LBFGS, lr=0.5, max_iter=5, **kwargs)


def test_the_model_called_inside_a_closure_is_the_model_trained():
    case = record(lbfgs)
    assert isinstance(case.copies.initial_model, nn.Sequential)
    assert case.copies.step_takes_closure
    assert case.trace.steps == 8
    assert len(case.trace.validation_passes()) == 8


def test_the_initial_copy_is_taken_before_the_first_update():
    case = record(lbfgs)
    torch.manual_seed(0)
    untrained = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    for kept, fresh in zip(case.copies.initial_model.parameters(), untrained.parameters(),
                           strict=True):
        assert torch.equal(kept, fresh)


@pytest.mark.parametrize("by_keyword", [False, True])
def test_a_watched_closure_step_returns_and_trains_exactly_as_unwatched(by_keyword):
    plain, plain_model = lbfgs(by_keyword=by_keyword)
    with watching(Recorder()):
        watched, watched_model = lbfgs(by_keyword=by_keyword)
    assert watched == plain
    for a, b in zip(plain_model.parameters(), watched_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_closure_given_to_sgd_is_seen_the_same_way():
    case = record(closure_training, torch.optim.SGD, lr=0.05, by_keyword=True)
    assert isinstance(case.copies.initial_model, nn.Sequential)
    assert case.copies.step_takes_closure


def test_replays_of_closure_steps_pass_a_closure_and_learn():
    case = record(lbfgs)
    replay = case.replayer.replay(Plan(steps=10))
    assert not replay.diverged
    assert replay.validation_losses[-1] < 0.5 * replay.start_validation


def test_inputs_in_raw_units_are_found_by_a_replay_of_closure_steps():
    """Standardizing tanh inputs scaled by 1,000 is replayed with LBFGS and shown to help
    (before closure steps were seen, no replay ran and the check read the inputs alone)."""
    case = record(lbfgs, steps=12, input_scale=1000.0)
    found = [f for f in unnormalized_inputs.check(case) if f.confidence >= 0.9]
    assert found and found[0].experiment is not None
    experiment = found[0].experiment
    assert experiment.after < 0.5 * experiment.before


@pytest.mark.slow  # a whole diagnosis over 8 s; faster tests check its mechanism
def test_a_healthy_lbfgs_run_is_called_healthy():
    case = record(lbfgs)
    diagnosis = diagnose_run(ScriptRun("lbfgs", 0, "", case.trace, case.copies))
    assert diagnosis.status == "healthy", [f.cause.id for f in diagnosis.causes]
