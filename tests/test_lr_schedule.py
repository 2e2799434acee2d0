import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks import learning_rate, lr_schedule
from lossdoctor.checks._lr_rise import (
    CURVES_ONLY,
    find_breakdown,
    find_rise,
    replay_turned,
)
from lossdoctor.checks.learning_rate import LR_TOO_HIGH
from lossdoctor.checks.lr_schedule import (
    LR_SCHEDULE,
    MOST_OF_RUN,
    _shown_by_curves,
    check,
    early_floor,
    find_collapse,
    find_starved,
    gradual_cut,
    meant_lr,
)
from lossdoctor.diagnosis import REPORT_THRESHOLD, rank
from lossdoctor.findings import Experiment, Finding, Skip
from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.trace import Setup, Trace

EPOCHS, BATCH = 12, 40


def _scheduled_run(make_scheduler, per_batch: bool, optimizer_class=torch.optim.Adam,
                   lr=3e-3, seed=0):
    """An MLP on a learnable task (labels from a random tanh teacher), 10 batches an epoch,
    validated each epoch, with the scheduler stepped per batch or per epoch."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 8, generator=generator)
    teacher = torch.randn(8, 16, generator=generator)
    y = (torch.tanh(x @ teacher).sum(1) > 0).long()
    torch.manual_seed(seed)
    model = mlp(8, 32, 2)
    optimizer = optimizer_class(model.parameters(), lr=lr)
    scheduler = make_scheduler(optimizer)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        for _ in range(EPOCHS):
            model.train()
            order = torch.randperm(400, generator=generator)
            for start in range(0, 400, BATCH):
                rows = order[start:start + BATCH]
                optimizer.zero_grad()
                loss_fn(model(x[rows]), y[rows]).backward()
                optimizer.step()
                if per_batch:
                    scheduler.step()
            if not per_batch:
                scheduler.step()
            model.eval()
            with torch.no_grad():
                loss_fn(model(x[400:]), y[400:])

    return record(train)


def _exponential(optimizer):
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)


def _warmup(capped: bool):
    def make(optimizer):
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / 2, 1.0) if capped else (step + 1) / 2)
    return make


def reported(findings):
    return [f for f in findings if f.confidence >= REPORT_THRESHOLD]


def test_an_epoch_scheduler_stepped_every_batch_is_a_collapse_the_floor_fixes():
    found = reported(check(_scheduled_run(_exponential, per_batch=True)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    finding = found[0]
    assert finding.evidence["share_of_run_left"] > 0.5
    assert finding.evidence["collapsed_lr"] < 0.01 * finding.evidence["peak_lr"]
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert "hardly moved" in finding.verdict and "floored" in finding.verdict


def test_a_warmup_that_never_stops_raises_the_rate_into_instability_and_the_cap_fixes_it():
    found = reported(check(_scheduled_run(_warmup(capped=False), per_batch=True,
                                          optimizer_class=torch.optim.SGD, lr=0.3)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    evidence = found[0].evidence
    assert evidence["lr_at_rise"] > evidence["lr_while_falling"]
    assert evidence["capped_lr"] <= evidence["lr_while_falling"] < evidence["peak_lr"] / 5
    assert "raised the rate" in found[0].verdict


@pytest.mark.parametrize("twin", ["epoch_exponential", "capped_warmup"])
def test_the_twins_with_a_sane_schedule_stay_quiet(twin):
    if twin == "epoch_exponential":
        case = _scheduled_run(_exponential, per_batch=False)
    else:
        case = _scheduled_run(_warmup(capped=True), per_batch=True,
                              optimizer_class=torch.optim.SGD, lr=0.3)
    assert reported(check(case)) == []


def test_a_decay_near_the_end_or_one_the_loss_goes_on_through_is_no_collapse():
    steps = 100
    falling = [(s, 1.0 / (1 + s)) for s in range(steps)]
    cosine = LrSchedule.of(Setup(lr_schedule=[[s, 0.5 * (1 + math.cos(math.pi * s / steps))]
                                              for s in range(steps)]), steps)
    assert find_collapse(cosine, falling) is None  # below 1% of the peak only at the end
    early = LrSchedule.of(Setup(lr_schedule=[[0, 1.0], [30, 1e-4]]), steps)
    assert find_collapse(early, falling) is None  # the loss kept falling after it
    stopped = find_collapse(early, falling[:30] + [(s, falling[29][1]) for s in range(30, 100)])
    assert stopped.step == 30 and stopped.was_falling
    settled = find_collapse(early, [(s, 1.0) for s in range(steps)])
    assert not settled.was_falling  # for the floored replay to judge


def test_a_loss_that_rises_under_a_decaying_rate_is_not_blamed_on_the_schedule():
    steps = 100
    decaying = LrSchedule.of(Setup(lr_schedule=[[0, 1.0], [50, 0.1]]), steps)
    valley = [(s, abs(s - 30) / 30 + 0.1) for s in range(steps)]
    assert find_rise(decaying, valley) is None
    rising = LrSchedule.of(Setup(lr_schedule=[[0, 0.1], [50, 1.0]]), steps)
    turned = [(s, 1.0 - s / 100 if s < 50 else math.inf) for s in range(steps)]
    assert find_rise(rising, turned).lr_rise == 1.0


def test_a_rate_raised_inside_the_lowest_block_of_losses_is_a_rise():
    """StepLR(gamma=10) raised the rate at step 96 of 144; the loss, falling until then, blew
    up from step 98, so the lowest block of 7 steps (91-97) held two steps at the raised rate
    (dev 09177). The rate the loss fell at is the one before that block."""
    steps = 144
    stepped_up = LrSchedule.of(Setup(lr_schedule=[[0, 0.003], [48, 0.03], [96, 0.3]]), steps)
    losses = [(s, 1.1 - 0.007 * s if s < 98 else 1.11) for s in range(steps)]
    rise = find_rise(stepped_up, losses)
    assert rise is not None
    assert rise.lr_falling == 0.03 and rise.lr_rise == 0.3


def _stepped_up_regression(gamma: float):
    """Adam at 3e-3 on a regression (a scaled tanh teacher, MSE), 12 epochs of 10 batches,
    validated each epoch, StepLR(step_size=4, gamma): gamma=10 where 0.1 was meant takes the
    rate to 0.03 and 0.3 (the devset's step_gamma_ten), 0.5 is its twin."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(600, 8, generator=generator)
    y = torch.tanh(x @ torch.randn(8, 16, generator=generator)).sum(1, keepdim=True) / 4
    torch.manual_seed(0)
    model = mlp(8, 32, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=gamma)

    def train():
        for _ in range(EPOCHS):
            order = torch.randperm(400, generator=generator)
            for start in range(0, 400, BATCH):
                rows = order[start:start + BATCH]
                optimizer.zero_grad()
                F.mse_loss(model(x[rows]), y[rows]).backward()
                optimizer.step()
            scheduler.step()
            with torch.no_grad():
                F.mse_loss(model(x[400:]), y[400:])

    return record(train)


def test_a_rate_raised_late_that_doubled_the_lowest_loss_is_a_rise_the_cap_fixes():
    """The loss fell fast (0.92 -> 0.17) before the rate went up 10x twice and ended at twice
    its lowest block, a quarter of its progress given back: not half, but BROKE_DOWN times
    its lowest (on 929abff: nothing). The replay capped at the rate it fell at decides."""
    found = reported(check(_stepped_up_regression(gamma=10.0)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    evidence = found[0].evidence
    assert evidence["loss_end"] < evidence["loss_best"] + 0.5 * (
        evidence["loss_first"] - evidence["loss_best"])
    assert evidence["lr_at_rise"] > evidence["lr_while_falling"]
    assert found[0].experiment.after < found[0].experiment.before
    assert reported(check(_stepped_up_regression(gamma=0.5))) == []


def test_a_rise_to_half_again_the_lowest_loss_counts_only_for_a_rate_raised_late():
    """The same losses against a schedule that raised the rate late (a rise) and against one
    that peaked early (a warmup: that peak is the learning-rate check's question, read as
    before, by half the progress given back)."""
    steps = 120
    losses = [(s, 1.0 - 0.0225 * s if s < 40 else 0.1 if s < 80 else 0.25) for s in range(steps)]
    late = LrSchedule.of(Setup(lr_schedule=[[0, 0.001], [40, 0.01], [80, 0.1]]), steps)
    rise = find_rise(late, losses)
    assert rise is not None and rise.lr_falling == 0.01 and rise.lr_rise == 0.1
    early = LrSchedule.of(Setup(lr_schedule=[[0, 0.001], [10, 0.1]]), steps)
    assert find_rise(early, losses) is None


def test_a_replay_that_did_not_break_down_leaves_the_rise_to_the_run_s_own_curves(monkeypatch):
    """Dev 367026: the loss went 0.0003 -> 3e7 once StepLR(gamma=10) raised the rate, but the
    replay of the schedule as it was fell to 6e-9: a cap compared with it cannot help, and
    shows nothing. The run's own rise is then reported from the curves (on 929abff: nothing);
    a replay that broke down as the run did and a cap that did not help still clear it."""
    case = _scheduled_run(_warmup(capped=False), per_batch=True,
                          optimizer_class=torch.optim.SGD, lr=0.3)
    calm = [0.69, 2e-4, 1e-5, 4e-6, 2e-6, 1e-6, 3e-7, 2e-7, 4e-8, 6e-9, 6e-9]
    replay = Experiment("schedule capped", 8e-8, 4e-6, 300, calm, calm)
    monkeypatch.setattr(lr_schedule, "_tested", lambda *args: replay)
    found = reported(check(case))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert found[0].confidence == CURVES_ONLY and found[0].experiment is None
    assert "did not break down" in found[0].verdict
    broke = [0.69, 0.4, 0.3, 0.5, 0.7, 0.69, 0.7, 0.7, 0.69, 0.7, 0.7]
    monkeypatch.setattr(lr_schedule, "_tested", lambda *args: Experiment(
        "schedule capped", 0.7, 0.69, 300, broke, broke))
    assert reported(check(case)) == []


def test_a_replay_turned_when_it_gave_back_half_its_progress_or_blew_up():
    assert not replay_turned([0.69, 2e-4, 1e-5, 6e-9, 8e-8])  # 13x its lowest, near zero
    assert replay_turned([0.69, 0.3, 0.6])
    assert replay_turned([0.69, 0.3, math.inf, math.nan])
    assert not replay_turned([0.69, 0.3, 0.35])


def test_a_constant_rate_is_no_schedule_fault_and_a_run_without_steps_skips():
    with pytest.raises(Skip):
        check(Case(Trace(), Copies()))
    constant = _scheduled_run(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0),
                              per_batch=True)
    assert check(constant) == []


def test_without_a_replay_the_curves_alone_report_it_just_above_the_bar():
    case = _scheduled_run(_warmup(capped=False), per_batch=True,
                          optimizer_class=torch.optim.SGD, lr=0.3)
    case.copies.loss_fn = None  # as for a hand-written loss: nothing to replay
    found = reported(check(case))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert found[0].experiment is None and "val_after" not in found[0].evidence
    assert REPORT_THRESHOLD <= found[0].confidence < 0.6
    assert "curves alone" in found[0].verdict


def test_a_warmup_to_an_early_peak_that_is_too_high_is_the_learning_rate_not_the_schedule():
    def warmup_to_peak(optimizer):  # the peak is reached a quarter into the run, then held
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min((step + 1) / 30, 1))

    case = _scheduled_run(warmup_to_peak, per_batch=True, optimizer_class=torch.optim.SGD,
                          lr=10.0)
    case.copies.loss_fn = None  # as for a loss on a slice of the output: nothing to replay
    assert reported(check(case)) == []
    [finding] = learning_rate.check(case)
    assert finding.cause is LR_TOO_HIGH and finding.experiment is None
    assert finding.evidence["lr_at_rise"] < finding.evidence["user_lr"] == 10.0
    assert REPORT_THRESHOLD <= finding.confidence < 0.6
    assert "curves alone" in finding.verdict


class _HandWarmup:
    """A warmup written by hand, as nanoGPT's get_lr is: every group's lr set before each
    step from the rate the optimizer was built with (``optimizer.defaults``)."""

    def __init__(self, optimizer, steps):
        self.optimizer, self.steps, self.done = optimizer, steps, 0
        self._set()

    def _set(self):
        for group in self.optimizer.param_groups:
            group["lr"] = self.optimizer.defaults["lr"] * min((self.done + 1) / self.steps, 1.0)

    def step(self):
        self.done += 1
        self._set()


def _torch_warmup(steps):
    def make(optimizer):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: min((i + 1) / steps, 1.0))
    return make


def _hand_warmup(steps):
    return lambda optimizer: _HandWarmup(optimizer, steps)


@pytest.mark.parametrize("warmup", [_torch_warmup, _hand_warmup])
def test_a_warmup_longer_than_the_run_starves_it_and_ending_it_early_fixes_it(warmup):
    # 120 steps of a 2000-step warmup: the rate ends at 6% of the 3e-3 the optimizer was given
    found = reported(check(_scheduled_run(warmup(2000), per_batch=True)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    evidence = found[0].evidence
    assert evidence["given_lr"] == pytest.approx(3e-3)
    assert evidence["peak_lr"] < 0.1 * evidence["given_lr"]
    assert found[0].experiment.after < found[0].experiment.before
    assert "longer than the training" in found[0].verdict


@pytest.mark.parametrize("warmup", [_torch_warmup, _hand_warmup])
def test_a_warmup_that_ends_inside_the_run_is_not_starved(warmup):
    assert reported(check(_scheduled_run(warmup(20), per_batch=True))) == []


def _epoch_stepped_warmup(warmup_steps, epochs=6, batches=64, lr=1e-3):
    """A step-counted linear warmup stepped once an epoch (Lightning's default interval):
    the rate changes only at each epoch's first batch (ace-step/ACE-Step#198)."""
    changes = tuple((e * batches, lr * min(1.0, (e + 1) / warmup_steps)) for e in range(epochs))
    return LrSchedule(changes, epochs * batches)


def test_a_warmup_stepped_once_an_epoch_is_starved_though_its_last_rise_is_at_five_sixths():
    # 300 warmup steps stepped at 6 epoch starts: the peak, 2% of the rate given, is reached at
    # step 320 of 384, before the run's last tenth, one epoch's pace from its end
    assert find_starved(_epoch_stepped_warmup(300), given=1e-3) == 1e-3


def test_a_per_batch_warmup_that_ended_at_five_sixths_is_not_still_rising():
    # rising every step up to step 320, then held for the last 64 steps of 384
    changes = tuple((step, 1e-3 * 0.4 * (step + 1) / 321) for step in range(321))
    assert find_starved(LrSchedule(changes, 384), given=1e-3) is None
    # ... nor a warmup stepped once an epoch that reached its target early
    assert find_starved(_epoch_stepped_warmup(2), given=1e-3) is None


def _one_cycle(optimizer):
    """One cycle to 3e-3 over the run's 120 batches (10 an epoch, 12 epochs)."""
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, steps_per_epoch=10,
                                               epochs=EPOCHS)


def test_a_one_cycle_schedule_stepped_once_an_epoch_is_starved_of_its_max_lr():
    """Lightning without "interval": "step" (pytorch-lightning#3869): 12 of its 120 steps, so
    the rate rises from max_lr / 25 to a fifth of max_lr and the run never reaches it."""
    found = reported(check(_scheduled_run(_one_cycle, per_batch=False)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert found[0].evidence["given_lr"] == pytest.approx(3e-3)
    assert "max_lr" in found[0].verdict
    assert "'interval': 'step'" in found[0].fix and found[0].evidence["rate_changes_every"] == 10
    assert found[0].experiment.after < found[0].experiment.before


def test_a_one_cycle_schedule_stepped_every_batch_is_not_starved():
    assert reported(check(_scheduled_run(_one_cycle, per_batch=True))) == []


def _one_cycle_sized_by_rows(optimizer):
    """steps_per_epoch=400, the rows, where the loop takes 10 batches an epoch (bench/projects6's
    accelerate cv_example given len(train_dataset)): a cycle of 4,800 steps for a 120-step run."""
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, steps_per_epoch=400,
                                               epochs=EPOCHS)


def test_a_one_cycle_sized_from_the_rows_is_starved_and_replayed_as_the_cycle_meant():
    """The rate stays in the first part of the warm-up (max_lr / 25 rising a little); the
    replay follows the declared cycle over the steps taken, up to max_lr and annealed. On
    d056fab the finding had no cycle length and replayed a warm-up held at max_lr."""
    found = reported(check(_scheduled_run(_one_cycle_sized_by_rows, per_batch=True)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert found[0].evidence["cycle_steps"] == 4800 and found[0].evidence["steps"] == 120
    assert "sized for 4,800 steps and the run took 120" in found[0].verdict
    assert "one-cycle schedule sized to the steps taken" in found[0].experiment.description
    assert "len(train_loader)" in found[0].fix
    assert found[0].experiment.after < found[0].experiment.before


def test_the_replayed_cycle_rises_to_the_rate_meant_and_anneals():
    shape = lr_schedule._cycled([1.0] * 100, ratio=10.0, start=0.04, end=4e-6)
    assert shape[0] == pytest.approx(0.4) and max(shape) == pytest.approx(10.0)
    assert shape.index(max(shape)) == 30 and shape[-1] == pytest.approx(4e-5)


def test_a_one_cycle_is_read_from_the_groups_torch_writes():
    hparams = {"max_lr": 3e-3, "initial_lr": 1.2e-4, "min_lr": 1.2e-8}
    assert lr_schedule.declared_cycle(Setup(optimizer_hparams=hparams)) == pytest.approx(
        (0.04, 4e-6))
    assert lr_schedule.declared_cycle(Setup(optimizer_hparams={"max_lr": 3e-3})) is None


def _cyclic(optimizer):
    """A triangular cycle from 1e-4 up to 3e-3 over 2000 steps: CyclicLR keeps its peak on the
    scheduler (``max_lrs``), not in the optimizer's groups."""
    return torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=1e-4, max_lr=3e-3,
                                             step_size_up=2000)


def test_a_cyclic_schedule_stepped_once_an_epoch_is_starved_of_the_peak_its_scheduler_holds():
    """Lightning's CyclicLR returned without "interval": "step" (fresh29 s05's thread): 12
    steps of a 2000-step rise. The rate meant is the scheduler's max_lr."""
    found = reported(check(_scheduled_run(_cyclic, per_batch=False)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert found[0].evidence["given_lr"] == pytest.approx(3e-3)
    assert found[0].experiment.after < found[0].experiment.before


def test_the_rate_meant_is_a_one_cycle_max_lr_else_the_rate_given():
    assert meant_lr(Setup(lr_given=4e-5, optimizer_hparams={"max_lr": 1e-3})) == 1e-3
    assert meant_lr(Setup(lr_given=1e-3, optimizer_hparams={"lr": 1e-3})) == 1e-3


def _milestones(optimizer):
    """mmcv's step=[5, 7] of 8 epochs, as epochs: x0.1 at 5/8 and 7/8 of the run."""
    return torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=[EPOCHS * 5 // 8, EPOCHS * 7 // 8], gamma=0.1)


def test_epoch_milestones_read_as_batches_are_an_early_floor_the_floored_replay_fixes():
    """mmcv's by_epoch=False: the rate is exactly 1% of its peak from batch 10 of 120, not below
    COLLAPSE_SHARE, and the loss still moves after it at a hundredth of the pace."""
    found = reported(check(_scheduled_run(_milestones, per_batch=True)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    assert found[0].evidence["collapse_step"] <= 0.1 * found[0].evidence["steps"]
    assert found[0].experiment.after < 0.9 * found[0].experiment.before


def test_the_same_milestones_counted_in_epochs_are_quiet():
    assert reported(check(_scheduled_run(_milestones, per_batch=False))) == []


def _shape(rate, steps=300):
    return [rate(s / steps) for s in range(steps)]


@pytest.mark.parametrize("rate", [
    lambda t: 0.1 ** (t >= 1 / 3) * 0.1 ** (t >= 2 / 3),  # ImageNet: x0.1 at epochs 30, 60 of 90
    lambda t: 0.5 * (1 + math.cos(math.pi * t)),  # cosine
    lambda t: min(t / 0.05, 1.0),  # warmup over 5%, held
    lambda t: 0.04 + 0.96 * t / 0.3 if t < 0.3 else 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7)),
    lambda t: 0.8 ** (t * 30),  # ExponentialLR(0.8) over 30 epochs
])
def test_healthy_schedules_have_no_early_floor(rate):
    assert early_floor(_shape(rate)) is None


def test_an_epoch_rate_set_back_once_an_epoch_still_floors_early():
    """timm's step(epoch) at each epoch's end beside the misplaced per-batch step: the epoch's
    rate comes back for one batch in each epoch of 38."""
    rates = [1.0 if s < 3 else (1.0 if s % 38 == 0 else 1e-3) for s in range(380)]
    assert early_floor(rates) == 3


def test_a_plateau_schedulers_early_cuts_are_no_early_floor():
    """ReduceLROnPlateau cut the rate because the loss stalled: that stall's cause is the
    finding, not the cuts."""
    steps, cuts = 300, [[0, 1.0], [10, 0.1], [20, 0.01]]
    losses = [(s, 1.0 - 0.001 * s) for s in range(steps)]
    planned = LrSchedule(tuple(map(tuple, cuts)), steps)
    assert find_collapse(planned, losses).early
    assert find_collapse(LrSchedule(tuple(map(tuple, cuts)), steps, reactive=True), losses) is None


@pytest.mark.parametrize("gamma, shown", [(0.1, True), (0.3, False)])
def test_without_a_replay_an_early_floor_shows_itself_only_at_a_hundredth(gamma, shown):
    """A replay the budget or the loss rules out: milestones read as batches, two x0.1 steps
    (1% of the peak: timm_style's run at a load of 11 had no time left for the replay), are
    reported from the curves; two x0.3 steps (9%, an early floor too) need the replay."""
    def milestones(optimizer):
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[4, 7], gamma=gamma)

    case = _scheduled_run(milestones, per_batch=True)
    case.copies.loss_fn = None  # as for a hand-written loss: nothing to replay
    found = reported(check(case))
    assert [f.cause for f in found] == ([LR_SCHEDULE] if shown else [])
    if shown:
        assert found[0].experiment is None and "curves alone" in found[0].verdict


def test_an_early_floor_at_the_second_step_is_found():
    """timm_style: a warmup step, the peak at step 1, then an epoch decay stepped per batch
    from step 2 of 222: too few losses before it to say whether they fell."""
    steps = 222
    schedule = LrSchedule(((0, 0.02), (1, 1.0), (2, 0.1), (4, 0.01), (6, 1e-3)), steps)
    collapse = find_collapse(schedule, [(s, 1.0 - 0.001 * s) for s in range(steps)])
    assert collapse.early and collapse.step == 2


def _plateau_cuts(mode: str, best: float, stepped: int = 4) -> LrSchedule:
    """A plateau scheduler (patience 2) that halved the rate at steps 40, 80 and 120 of 160,
    first after ``stepped`` step() calls (4: the earliest it can)."""
    cuts = ((0, 1e-3), (40, 5e-4), (80, 2.5e-4), (120, 1.25e-4))
    return LrSchedule(cuts, 160, reactive=True, plateau_mode=mode, plateau_best=best,
                      plateau_patience=2, plateau_steps=stepped)


def _falling_passes():
    from lossdoctor.trace import ValidationPass

    return [ValidationPass(10 * (i + 1), i, loss, 1, 100)
            for i, loss in enumerate([0.9, 0.6, 0.45, 0.4, 0.37, 0.35, 0.34, 0.33])]


@pytest.mark.parametrize("mode, best, stepped, against", [
    ("max", 0.9, 4, True),  # stepped with the loss: its best is the highest loss, the first
    ("max", 0.81, 4, False),  # stepped with another metric (an accuracy): as meant
    ("max", 0.9, 7, False),  # an accuracy that improved, then levelled at the loss's start
    ("min", 0.4, 4, False),  # a loss in mode 'min': as meant
])
def test_a_plateau_schedulers_mode_is_read_against_what_it_was_stepped_with(mode, best, stepped,
                                                                             against):
    from lossdoctor.checks.lr_schedule import find_mode_against

    found = find_mode_against(_plateau_cuts(mode, best, stepped), _falling_passes())
    assert (found is not None) is against
    if against:
        assert found.cuts == 3 and found.first_loss == 0.9 and found.last_loss == 0.4


def test_without_a_replay_a_collapse_for_most_of_the_run_shows_itself_though_the_loss_was_flat():
    """fresh22 s13: a linear decay whose total steps were one epoch's (the Trainer's 6 epochs
    given a schedule of 47 steps): 0 from step 47 of 282, the loss flat before and after, the
    replay cut by the budget. A collapse with a third of the run left, or a plateau
    scheduler's cuts, still need the loss seen falling before it."""
    steps = 282
    flat = [(s, 0.694) for s in range(steps)]
    one_epoch = LrSchedule.of(Setup(lr_schedule=[[s, 1e-3 * (1 - s / 47)] for s in range(47)]
                                    + [[47, 0.0]]), steps)
    collapse = find_collapse(one_epoch, flat)
    assert collapse.step == 47 and not collapse.was_falling and collapse.left >= MOST_OF_RUN
    assert _shown_by_curves(one_epoch, collapse)
    late = LrSchedule.of(Setup(lr_schedule=[[0, 1e-3], [190, 0.0]]), steps)
    assert not _shown_by_curves(late, find_collapse(late, flat))
    cuts = LrSchedule(((0, 1e-3), (47, 0.0)), steps, reactive=True)
    assert not _shown_by_curves(cuts, find_collapse(cuts, flat))


# --- a gradual cut: an epoch scheduler stepped every batch that never collapses in a short run


def _gentle_step(optimizer):
    """StepLR(2, 0.94), meant in epochs (x0.68 over 12 of them): stepped every batch it reaches a
    tenth of its peak at 60% of the 120 steps and 2% at the end, never below COLLAPSE_SHARE."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.94)


def _imagenet_steps(optimizer):
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[4, 8], gamma=0.1)


def _cosine_per_batch(optimizer):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS * 10)


def test_a_gentle_epoch_scheduler_stepped_every_batch_is_a_gradual_cut_the_floor_fixes():
    found = reported(check(_scheduled_run(_gentle_step, per_batch=True)))
    assert [f.cause for f in found] == [LR_SCHEDULE]
    evidence = found[0].evidence
    assert evidence["collapsed_lr"] > 0.01 * evidence["peak_lr"]  # no collapse below 1%
    assert evidence["share_of_run_left"] >= 0.25
    assert found[0].experiment.after < found[0].experiment.before


@pytest.mark.parametrize("make, per_batch", [(_gentle_step, False), (_imagenet_steps, False),
                                             (_cosine_per_batch, True)])
def test_schedules_meant_as_written_are_no_gradual_cut(make, per_batch):
    assert reported(check(_scheduled_run(make, per_batch=per_batch))) == []


def test_a_gradual_cut_needs_many_cuts_more_than_the_epochs():
    per_batch = [0.94 ** (s // 2) for s in range(120)]
    assert gradual_cut(per_batch, list(range(0, 120, 10))) == 76  # 0.94 ** 38
    imagenet = [1.0] * 40 + [0.1] * 40 + [0.01] * 40  # one cut to a tenth, at an epoch start
    assert gradual_cut(imagenet, list(range(0, 120, 10))) is None
    halved = [0.5 ** (s // 10) for s in range(120)]  # x0.5 every epoch: cuts at epoch starts
    assert gradual_cut(halved, list(range(0, 120, 10))) is None


def _one_cycle_to(max_lr):
    def make(optimizer):
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, steps_per_epoch=10,
                                                   epochs=EPOCHS)
    return make


def test_a_one_cycle_schedule_whose_peak_is_far_too_high_is_read_from_the_run_itself():
    """Generator operator onecycle_peak_too_high (max_lr 1,000x the base's): the loss falls
    while the rate is low, turns up once the schedule raises it past every rate it fell at, and
    the annealed end does not bring it back. The learning-rate check's range test and replays
    say the same where they fit the budget; where they do not (refused under load, dev
    362000-full_batch's learning_rate "not run"), the run's own loss against the rate its
    schedule set still names the peak (on 5d515c6, nothing: an early peak was left to them)."""
    case = _scheduled_run(_one_cycle_to(3.0), per_batch=True)
    [finding] = reported(check(case))
    assert finding.cause is LR_SCHEDULE and finding.experiment is None
    assert finding.confidence == CURVES_ONLY
    assert finding.evidence["lr_while_falling"] < finding.evidence["lr_at_rise"]
    assert finding.evidence["lr_at_rise"] <= finding.evidence["peak_lr"] == pytest.approx(3.0)
    assert "no replay tested it" in finding.verdict and "max_lr" in finding.fix


def test_a_one_cycle_finding_from_the_curves_does_not_explain_the_measured_rate():
    """Beside the learning-rate check's replayed lr_too_high, the curves-only finding is no
    root of it: lr_too_high is explained by the schedule only once a replayed fix of it
    worked, so the range test's answer ranks first."""
    assert "lr_too_high" not in LR_SCHEDULE.explains
    assert "lr_too_high" in LR_SCHEDULE.explains_if_fixed


@pytest.mark.parametrize("max_lr", [3e-3, 3e-2])
def test_a_one_cycle_schedule_to_a_peak_that_trains_is_quiet(max_lr):
    assert reported(check(_scheduled_run(_one_cycle_to(max_lr), per_batch=True))) == []


def test_a_breakdown_back_below_its_untrained_start_counts_only_when_it_learned_nothing():
    """Dev 362004 (RMSprop, one cycle to 0.5, BCE on logits): its first twentieth averages
    1.36 (the untrained model's output far from the guess of 0.69), a later one 787, its last
    0.62, and its last validation loss 1.52 is worse than the guess: undone, though below its
    start. A run that ends below its start and beats the guess is not read as one."""
    schedule = LrSchedule(((0, 0.02), (10, 0.24), (60, 0.5), (150, 1e-4)), 200)
    losses = [(s, 1.36 if s < 10 else 787.0 if s < 60 else 0.62) for s in range(200)]

    assert find_breakdown(schedule, losses) is None
    found = find_breakdown(schedule, losses, undone=True)
    assert found.worst == 787.0 and found.lr_rise > found.lr_falling == 0.02


def test_a_starved_schedule_whose_loss_turns_up_is_read_as_starved_not_as_a_rise():
    """Dev onecycle_sized_by_rows 400004: a one-cycle sized from the rows rose from 4% to 7% of
    its max_lr while the loss fell and then turned up with the noise; read first as a rise
    "into instability" (on 03bf5a2), at a rate far below the one meant. Without a replay the
    starved reading stands on the curves."""
    from lossdoctor.trace import LossRecord

    steps = 200
    setup = Setup(lr_given=2.8e-4, optimizer_hparams={"max_lr": 7e-3, "initial_lr": 2.8e-4,
                                                      "min_lr": 2.8e-8},
                  lr_schedule=[[s, 2.8e-4 + 2e-4 * s / steps] for s in range(steps)])
    losses = [1.0 - 0.0015 * s if s < 140 else 0.79 + 0.002 * (s - 140) for s in range(steps)]
    trace = Trace(setup=setup, steps=steps,
                  losses=[LossRecord(v, 32, "train", s) for s, v in enumerate(losses)])
    [finding] = check(Case(trace, Copies()))
    assert finding.cause is LR_SCHEDULE and "rose through the whole run" in finding.verdict
    assert finding.evidence["given_lr"] == pytest.approx(7e-3)


def _starved_one_cycle_case():
    """A one-cycle sized from the rows (fresh31 s09's shape): the rate rose from 4% to 7% of
    its max_lr over the whole run while the loss fell."""
    from lossdoctor.trace import LossRecord

    steps = 200
    setup = Setup(lr_given=2.8e-4, optimizer_hparams={"max_lr": 7e-3, "initial_lr": 2.8e-4,
                                                      "min_lr": 2.8e-8},
                  lr_schedule=[[s, 2.8e-4 + 2e-4 * s / steps] for s in range(steps)])
    trace = Trace(setup=setup, steps=steps,
                  losses=[LossRecord(1.0 - 0.002 * s, 32, "train", s) for s in range(steps)])
    return Case(trace, Copies())


@pytest.mark.parametrize(("replay_steps", "reported_at"), [(156, lr_schedule.STARVED_READ),
                                                           (300, None)])
def test_a_starved_reading_stands_when_its_replay_was_cut_and_falls_when_it_was_whole(
        monkeypatch, replay_steps, reported_at):
    """A replay of the fix that the budget cut short and that did not help says nothing either
    way (fresh31 s09: cut to 156 of 300 steps, where the fixed run needs about 200 to leave its
    plateau): the reading stands at its own confidence. A whole replay that did not help
    dismisses it."""
    flat = Experiment("one-cycle schedule sized to the steps taken", 0.9, 0.9, replay_steps)
    monkeypatch.setattr(lr_schedule, "_tested", lambda case, description, shape: flat)

    found = check(_starved_one_cycle_case())

    if reported_at is None:
        assert found == []
    else:
        [finding] = found
        assert finding.confidence == reported_at and finding.experiment is None
        assert "cut to 156 of its 300 steps" in finding.verdict
        assert finding.evidence["cut_replay_steps"] == 156


def _uncapped_warmup_case(losses, lr_given=0.01, steps=78):
    """A warmup over two steps whose min(..., 1) was forgotten (dev 416002): SGD set at 0.01,
    the rate rising by half of it a step, to 0.39 at the end (``lr_given``: the rate set)."""
    from lossdoctor.trace import LossRecord

    setup = Setup(lr_given=lr_given,
                  lr_schedule=[[s, 0.005 * (s + 1)] for s in range(steps)])
    trace = Trace(setup=setup, steps=steps,
                  losses=[LossRecord(losses(s), 32, "train", s) for s in range(steps)])
    return Case(trace, Copies())


def _broke_at_step_five(step):
    return [42.0, 49.0, 32.0, 23.0, 11.0][step] if step < 5 else 1e20


def test_a_warmup_never_capped_that_breaks_down_at_once_is_read_as_the_schedules():
    """The loss never fell below its first steps: it blew up at step 5, at 0.03, three times
    the rate set; find_rise sees no fall, and before session 32 nothing was read (lr_too_high
    alone was reported). Without a replay the curves are the evidence."""
    [finding] = check(_uncapped_warmup_case(_broke_at_step_five))
    assert finding.cause is LR_SCHEDULE and finding.evidence["capped_lr"] == 0.01
    assert "past the 0.01 you set" in finding.verdict


def test_a_breakdown_at_the_rate_the_user_set_is_not_carried_by_the_schedule():
    """The same breakdown with 0.05 set: it broke at 0.03, below it, so the rate set is the
    question (lr_too_high's), not the schedule."""
    assert check(_uncapped_warmup_case(_broke_at_step_five, lr_given=0.05)) == []
    breakdown = find_breakdown(LrSchedule(((0, 0.005), (5, 0.03)), 78),
                               [(s, _broke_at_step_five(s)) for s in range(78)])
    assert lr_schedule.carried_past(breakdown, 0.05) is None
    assert lr_schedule.carried_past(breakdown, 0.01).cap == 0.01


def test_a_warmup_never_capped_whose_loss_keeps_falling_is_quiet():
    assert check(_uncapped_warmup_case(lambda step: 2.0 / (1 + step))) == []


def test_a_schedule_capped_at_the_rate_set_that_fixes_the_run_leads_the_rate_too_high():
    """Dev 416018 on this branch: the schedule capped at the 8e-3 set took the validation loss
    from 1.45 to 0.524, and the learning-rate check's 0.01 (the same run's peak lowered) from
    1.45 to 0.552: both true, and the schedule is what raised the rate, so lr_too_high follows
    it. A cap that did not help leaves lr_too_high first."""

    def findings(capped_after):
        schedule = Finding(LR_SCHEDULE, 0.9, "", {}, experiment=Experiment(
            "schedule capped at lr 0.008", 1.45, capped_after, 300))
        lower = Finding(LR_TOO_HIGH, 1.0, "", {}, experiment=Experiment(
            "lr 0.01 instead of 1.01 (SGD)", 1.45, 0.552, 300))
        return [schedule, lower]

    ranked = rank(findings(0.524))
    assert [f.cause for f in ranked] == [LR_SCHEDULE, LR_TOO_HIGH]
    assert ranked[1].explained_by == ["lr_schedule"]
    assert rank(findings(1.44))[0].cause is LR_TOO_HIGH
