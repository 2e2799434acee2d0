"""A rate cut on a plateau (ReduceLROnPlateau) answers the run's own losses: replays of a fixed
training train at the rate the run started at, not through the cuts a fault brought early."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.checks import lr_schedule, training_loop
from lossdoctor.checks.lr_schedule import LR_SCHEDULE
from lossdoctor.checks.training_loop import MISSING_ZERO_GRAD
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import Plan

EPOCHS, BATCH, ROWS = 12, 64, 2000


def _regression(generator):
    x = torch.randn(ROWS + 500, 8, generator=generator)
    y = 1.5 * x[:, 0] - x[:, 1] * x[:, 2] + torch.sin(2 * x[:, 3]) + 0.5 * x[:, 4] ** 2
    y = (y - y.mean()) / y.std()
    return x, y


def _run(make_scheduler, zero_grad=True):
    """An Adam MLP on a tabular regression, its scheduler stepped on each epoch's validation
    loss (a plateau scheduler) or once an epoch (any other); optionally never zeroing its
    gradients, the Lightning-style `optimizer.zero_grad` written without its parentheses."""
    generator = torch.Generator().manual_seed(7)
    x, y = _regression(generator)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(),
                          nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = make_scheduler(optimizer)

    def train():
        for _ in range(EPOCHS):
            model.train()
            order = torch.randperm(ROWS, generator=generator)
            for start in range(0, ROWS, BATCH):
                rows = order[start:start + BATCH]
                if zero_grad:
                    optimizer.zero_grad()
                F.mse_loss(model(x[rows]).squeeze(-1), y[rows]).backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                val_loss = F.mse_loss(model(x[ROWS:]).squeeze(-1), y[ROWS:]).item()
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_loss)
            else:
                scheduler.step()

    return record(train)


def _plateau(optimizer):
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)


def _step(optimizer):
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)


def test_cuts_made_by_a_plateau_scheduler_are_not_replayed():
    case = _run(_plateau, zero_grad=False)
    setup = case.trace.setup
    assert setup.lr_reactive and setup.lr_last < setup.lr_peak
    replayer = case.replayer
    assert replayer.lr_multipliers(Plan(steps=300)) is None  # the rate the run started at
    recorded = replayer.lr_multipliers(Plan(steps=300, lr_shape=list))
    assert recorded is not None and min(recorded) < 1  # lr_schedule's own replays keep them


def test_a_planned_schedule_is_still_replayed():
    case = _run(_step)
    assert case.trace.setup.lr_reactive is False
    multipliers = case.replayer.lr_multipliers(Plan(steps=300))
    assert multipliers is not None and min(multipliers) < 1


def test_gradients_never_zeroed_under_a_plateau_scheduler_are_shown_by_the_replay():
    found = [f for f in training_loop.check(_run(_plateau, zero_grad=False))
             if f.confidence >= REPORT_THRESHOLD]
    assert [f.cause for f in found] == [MISSING_ZERO_GRAD]
    assert found[0].experiment.after < found[0].experiment.before


def test_its_twin_that_zeroes_them_stays_quiet():
    assert [f for f in training_loop.check(_run(_plateau))
            if f.confidence >= REPORT_THRESHOLD] == []


def _plateau_max(optimizer):
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                      patience=1)


def test_the_plateau_schedulers_mode_and_best_are_kept():
    setup = _run(_plateau_max).trace.setup
    assert setup.lr_reactive["mode"] == "max"
    # stepped with the validation loss in mode 'max': its best is the highest loss, the first
    assert setup.lr_reactive["best"] > 0.1


def test_a_plateau_scheduler_in_mode_max_stepped_with_the_loss_is_an_lr_schedule_finding():
    case = _run(_plateau_max)
    found = [f for f in lr_schedule.check(case) if f.confidence >= REPORT_THRESHOLD]
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert "mode='max'" in found[0].verdict and found[0].evidence["cuts"] >= 2


def test_a_plateau_scheduler_in_mode_min_stays_quiet():
    case = _run(_plateau, zero_grad=False)  # its loss stalls: the scheduler cuts
    assert case.trace.setup.lr_reactive["mode"] == "min"
    assert [f for f in lr_schedule.check(case) if f.confidence >= REPORT_THRESHOLD] == []
    assert lr_schedule.check(_run(_plateau)) == []  # a healthy run it never needed to cut
