"""The learning rate the run actually trained at: checks place its peak, replays follow its
schedule's shape (see lossdoctor.lr_schedule)."""

import pytest
import torch
from torch import nn

from conftest import mlp, record
from lossdoctor.checks.learning_rate import LR_TOO_HIGH, check, measure
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import Plan
from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.report._common import lr_text
from lossdoctor.trace import Setup

#: The warmup of the issue: lr x (step + 1) / 101, so lr 1e-3 starts at 9.9e-06.
WARMUP_STEPS = 101


def _data(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(480, 10, generator=generator)
    y = (x @ torch.randn(10, generator=generator) > 0).long()
    return x, y


def _run(lr, warmup=True, raise_to=None, epochs=12, optimizer_class=torch.optim.Adam):
    """An MLP trained in batches of 40 (12 a epoch), validated each epoch; with a linear warmup
    over WARMUP_STEPS steps, or with the lr raised by hand to ``raise_to`` halfway."""
    x, y = _data()
    torch.manual_seed(0)
    model = mlp(10, 32, 2)
    optimizer = optimizer_class(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / WARMUP_STEPS, 1.0) if warmup else 1.0)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        for epoch in range(epochs):
            if raise_to is not None and epoch == epochs // 2:
                for group in optimizer.param_groups:
                    group["lr"] = raise_to
            model.train()
            for start in range(0, 400, 40):
                optimizer.zero_grad()
                loss_fn(model(x[start:start + 40]), y[start:start + 40]).backward()
                optimizer.step()
                if raise_to is None:
                    scheduler.step()
            model.eval()
            with torch.no_grad():
                loss_fn(model(x[400:]), y[400:])

    return record(train)


class _SeenRates(torch.optim.SGD):
    """SGD that notes the lr of every step it takes."""

    seen: list[float] = []

    def step(self, closure=None):
        _SeenRates.seen.append(self.param_groups[0]["lr"])
        return super().step(closure)


def _replayed_rates(case, plan: Plan) -> list[float]:
    _SeenRates.seen = []
    case.replayer.replay(Plan(**{**vars(plan), "optimizer_class": _SeenRates}))
    return list(_SeenRates.seen)


def test_the_schedule_is_resampled_as_fractions_of_its_peak():
    setup = Setup(lr_schedule=[[0, 0.1], [2, 0.4], [6, 0.2]])
    schedule = LrSchedule.of(setup, steps=8)
    assert (schedule.first, schedule.peak, schedule.last) == (0.1, 0.4, 0.2)
    assert schedule.per_step() == [0.1, 0.1, 0.4, 0.4, 0.4, 0.4, 0.2, 0.2]
    assert schedule.multipliers(4) == [0.25, 1.0, 1.0, 0.5]
    assert schedule.multipliers(16)[::2] == [0.25, 0.25, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert LrSchedule.of(Setup(), steps=8) is None


def test_a_warmed_up_lr_is_the_users_lr_not_its_first_step():
    case = _run(1e-3)
    assert case.trace.learning_rates[0] == pytest.approx(1e-3 / WARMUP_STEPS)
    assert case.replayer.user_lr == pytest.approx(1e-3)
    assert measure(case).user_lr == pytest.approx(1e-3)
    assert lr_text(vars(case.trace.setup)) == "lr 9.9e-6 -> 0.001"


def test_an_lr_raised_by_hand_midway_is_seen():
    case = _run(0.05, warmup=False, raise_to=0.2, optimizer_class=torch.optim.SGD)
    assert case.replayer.user_lr == pytest.approx(0.2)
    assert lr_text(vars(case.trace.setup)) == "lr 0.05 -> 0.2"


def test_a_run_launched_at_lr_10_is_tested_at_10_not_at_its_warmup_start():
    case = _run(10.0)
    found = [f for f in check(case) if f.confidence >= REPORT_THRESHOLD]
    assert [f.cause for f in found] == [LR_TOO_HIGH]
    evidence = found[0].evidence
    assert evidence["user_lr"] == pytest.approx(10.0)
    assert "peak learning rate (10.0" in found[0].verdict
    assert "0.099" not in found[0].verdict + found[0].fix


def test_replays_follow_the_schedule_scaled_by_the_plans_lr_unless_asked_for_constant():
    case = _run(0.1, optimizer_class=torch.optim.SGD)
    rates = _replayed_rates(case, Plan(lr=0.5, steps=60))
    shape = case.replayer.schedule.multipliers(60)
    assert rates == pytest.approx([0.5 * m for m in shape])
    assert rates[0] == pytest.approx(0.5 / WARMUP_STEPS) and rates[-1] == pytest.approx(0.5)
    assert _replayed_rates(case, Plan(lr=0.5, steps=60, constant_lr=True)) == [0.5] * 60
    capped = _replayed_rates(case, Plan(lr=0.5, steps=60,
                                        lr_shape=lambda m: [min(v, 0.1) for v in m]))
    assert max(capped) == pytest.approx(0.05) and capped[0] == rates[0]


def test_the_users_own_replay_trains_at_the_peak_after_warmup():
    case = _run(0.1, optimizer_class=torch.optim.SGD)
    optimizer = case.replayer.optimizer_for(mlp(10, 32, 2), Plan())
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    assert case.copies.optimizer_hparams["lr"] == pytest.approx(0.1 / WARMUP_STEPS)
