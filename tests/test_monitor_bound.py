"""The live monitor's judging stays a bounded share of the run (monitor.JUDGING_SHARE, or
JUDGING_FLOOR_SECONDS in all), on a clock the test drives: each step takes 10 ms, and each
judgement 1 ms per validation pass so far (it reads the whole curve, as curves.judge_trace
does)."""

import torch
from torch import nn

import lossdoctor.monitor as monitor_module
from lossdoctor.capture import Recorder, watching
from lossdoctor.monitor import JUDGING_FLOOR_SECONDS, JUDGING_SHARE, Monitor

STEP_SECONDS = 0.01
SECONDS_PER_PASS_JUDGED = 1e-3


class Clock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


def _driven_clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(monitor_module, "time", clock)
    judge_trace = monitor_module.judge_trace

    def costly_judge(trace, chance=None):
        clock.now += SECONDS_PER_PASS_JUDGED * len(trace.validation_passes())
        return judge_trace(trace, chance)

    monkeypatch.setattr(monitor_module, "judge_trace", costly_judge)
    return clock


def _train(clock, steps, validate_every):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    x, x_val = torch.randn(32, 4), torch.randn(16, 4)
    y, y_val = x.sum(1, keepdim=True), x_val.sum(1, keepdim=True)
    monitor = Monitor()
    recorder = Recorder(listener=monitor)
    with watching(recorder):
        for step in range(steps):
            clock.now += STEP_SECONDS
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            if (step + 1) % validate_every == 0:
                with torch.no_grad():
                    nn.functional.mse_loss(model(x_val), y_val)
    return monitor, recorder


def test_a_run_validating_at_every_step_is_judged_within_its_share(monkeypatch):
    """Unbounded, 600 passes judged at every pass would take 180 s of a 6 s run."""
    clock = _driven_clock(monkeypatch)
    monitor, recorder = _train(clock, steps=600, validate_every=1)
    passes = len(recorder.trace.validation_passes())
    assert passes >= 599
    assert 1 < monitor.judgements < passes / 4
    last_judgement = SECONDS_PER_PASS_JUDGED * passes
    allowed = max(JUDGING_FLOOR_SECONDS, JUDGING_SHARE * clock.now)
    assert monitor.judging_seconds <= allowed + last_judgement


def test_a_run_validating_once_an_epoch_is_judged_at_every_pass(monkeypatch):
    """All but the last pass, which no step follows (the final verdict judges it)."""
    clock = _driven_clock(monkeypatch)
    monitor, recorder = _train(clock, steps=200, validate_every=20)
    assert len(recorder.trace.validation_passes()) == 10
    assert monitor.judgements == 9
