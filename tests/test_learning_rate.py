import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import REPLAY_STEPS, Case
from lossdoctor.checks import learning_rate
from lossdoctor.checks._collapsed_run import collapsed_run
from lossdoctor.checks._plain import plain_lr
from lossdoctor.checks._rate_at_default_init import from_default_init
from lossdoctor.checks.learning_rate import (
    LR_TOO_HIGH,
    LR_TOO_LOW,
    MORE_RUNS,
    Counterfactual,
    Measures,
    _best_higher,
    _changed_first,
    _doublings,
    _high_symptom,
    _high_verdict,
    _late_rise_position,
    _low_verdict,
    _near_low_position,
    _replay_steps,
    check,
    measure,
    rise,
    runs_to_reach,
    training_steadily,
)
from lossdoctor.collapse import fell_back
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import ReplayResult
from lossdoctor.findings import Experiment, Skip
from lossdoctor.lr_range import RangeTest
from lossdoctor.measured_consequences import CHANGED_FIRST
from lossdoctor.trace import Trace


def learnable_run(optimizer_class, lr, seed=0, **hparams):
    """A small MLP on a classification task it can learn (a linear teacher's labels)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 10, generator=generator)
    y = (x @ torch.randn(10, generator=generator) > 0).long()
    torch.manual_seed(seed)
    model = mlp(10, 32, 2)
    optimizer = optimizer_class(model.parameters(), lr=lr, **hparams)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:400], y[:400]),
                  (x[400:], y[400:]), epochs=10)


def reported(findings):
    return {f.cause: f for f in findings if f.confidence >= REPORT_THRESHOLD}


def test_adam_at_lr_1_is_too_high_and_a_lower_lr_fixes_validation():
    found = reported(check(learnable_run(torch.optim.Adam, 1.0)))
    assert set(found) == {LR_TOO_HIGH}
    finding = found[LR_TOO_HIGH]
    evidence = finding.evidence
    assert evidence["user_lr"] == 1.0
    assert evidence["suggested_lr"] < evidence["minimum_lr"] < 1.0
    assert evidence["divergence_lr"] < 10.0
    assert evidence["late_loss_vs_untrained"] > 1.0
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert finding.fix.startswith("Lower the learning rate from 1.0 to about")
    assert "Adam" in finding.fix
    assert finding.details["range_test"]["user_lr"] == 1.0


def test_a_loss_that_turns_nan_is_blamed_on_the_lr_with_finite_evidence():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=generator)
    y = x @ torch.randn(8, 1, generator=generator)
    torch.manual_seed(0)
    model = mlp(8, 16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    case = record(fit, model, optimizer, nn.MSELoss(), (x[:200], y[:200]), (x[200:], y[200:]),
                  epochs=3)
    finding = reported(check(case))[LR_TOO_HIGH]
    assert finding.evidence["nonfinite_fraction"] > 0
    assert finding.evidence["replay_of_your_setup_blew_up"] == 1.0
    assert all(math.isfinite(v) for v in finding.evidence.values())
    assert "NaN" in finding.verdict


@pytest.mark.parametrize("optimizer_class", [torch.optim.Adam, torch.optim.SGD])
def test_lr_of_1e_6_is_too_low_and_the_suggested_lr_learns(optimizer_class):
    found = reported(check(learnable_run(optimizer_class, 1e-6)))
    assert set(found) == {LR_TOO_LOW}
    finding = found[LR_TOO_LOW]
    assert finding.evidence["decades_below_suggestion"] >= 2
    assert finding.evidence["late_loss_vs_untrained"] > 0.95
    assert finding.evidence["replayed_late_loss_vs_untrained"] < 0.75
    assert finding.experiment.after < finding.experiment.before
    assert finding.fix.startswith("Raise the learning rate from 1e-6 to about")
    _tells_one_story_about_the_lr(finding)


def _tells_one_story_about_the_lr(finding):
    """The verdict names the lr the fix uses, and says where on the range test it comes from
    (lr_too_low_mlp named the test's 0.002 while its fix said 0.02)."""
    evidence, verdict = finding.evidence, finding.verdict
    fix_lr = plain_lr(evidence["replayed_lr"])
    assert f"at lr {fix_lr} " in verdict and f"to about {fix_lr} " in finding.fix
    gap = f"{evidence['decades_below_suggestion']:.0f} orders of magnitude above your rate"
    assert f"falls fastest at about {plain_lr(evidence['suggested_lr'])}, {gap}" in verdict
    assert f"lowest at about {plain_lr(evidence['minimum_lr'])}" in verdict
    assert finding.details["range_test"]["fix_lr"] == evidence["replayed_lr"]
    # which rates were tried, not "(the better of the two)" after a sentence about four rates
    fastest, lowest = plain_lr(evidence["suggested_lr"]), plain_lr(evidence["minimum_lr"])
    if fastest != lowest:
        assert f"(of {fastest} and {lowest}, the one that did better in replays)" in verdict


def test_a_loss_below_zero_is_said_in_losses_not_as_a_negative_ratio():
    """Labels out of BCE's range let the loss fall below zero: 'the training loss is -13.2x
    the untrained model's' meant nothing (label_range_transformer_signed_labels)."""
    test = RangeTest([1e-3, 1.0, 10.0], [0.7, -1e3, -1e5], [0.7, -1e3, -1e5], 10.0, 1.0, None)
    baseline = ReplayResult([0.7, -5.0, -9.0], [-1.0, -12.0])
    m = Measures(1e-3, "Adam", test, baseline, [0.6, -8.0, -13.0, -18.0], 0.7)
    higher = Counterfactual(1.0, ReplayResult([0.7, -2e5, -4e5], [-1e5, -4e5], planned_steps=30))
    verdict = _low_verdict(m, higher, stalled=True)
    assert "x the untrained" not in verdict
    assert "averages -15.5 (the untrained model's: 0.7), against -3e+05 at lr 1.0" in verdict


def image_run(lr, random_labels=False, seed=0):
    """A small CNN told horizontal from vertical bars in 8x8 noisy images, with plain SGD."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (600,), generator=generator)
    images = 0.3 * torch.randn(600, 1, 8, 8, generator=generator)
    where = torch.randint(1, 7, (600,), generator=generator).tolist()
    for image, label, place in zip(images, labels.tolist(), where, strict=True):
        image[0, 1:7, place] += label
        image[0, place, 1:7] += 1 - label
    if random_labels:
        labels = torch.randint(0, 2, (600,), generator=generator)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
                          nn.Flatten(), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (images[:450], labels[:450]),
                  (images[450:], labels[450:]), epochs=4)


@pytest.mark.parametrize("random_labels", [False, True])
def test_on_a_flat_range_test_too_low_needs_a_replay_that_beats_the_constant_guess(
    random_labels, monkeypatch
):
    """A CNN under plain SGD can barely move in the range test's one or two steps per lr, so
    its curve can be flat (the lr scenario in examples/ is). Then only a replay at the higher lr
    that beats the constant guess on held-out data blames the lr; random labels cannot."""
    monkeypatch.setattr(Measures, "responds_to_lr", property(lambda self: False))
    found = reported(check(image_run(1e-4, random_labels)))
    assert set(found) == (set() if random_labels else {LR_TOO_LOW})


@pytest.mark.parametrize(
    "optimizer_class, lr, hparams",
    [
        (torch.optim.Adam, 1e-3, {}),
        (torch.optim.Adam, 1e-2, {}),
        (torch.optim.SGD, 0.1, {"momentum": 0.9}),
    ],
)
def test_healthy_learning_rates_are_not_blamed(optimizer_class, lr, hparams):
    assert reported(check(learnable_run(optimizer_class, lr, **hparams))) == {}


def test_inputs_in_the_thousands_are_not_blamed_on_the_lr():
    """Saturated sigmoid outputs: the loss does not respond to any lr on the range test, so a
    lower lr is no fix (the inputs' scale is the problem, for another check to report)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(150, 10, generator=generator) * 1000
    y = torch.randint(0, 2, (150,), generator=generator).float()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 1), nn.Sigmoid(), nn.Flatten(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    case = record(fit, model, optimizer, nn.BCELoss(), (x[:100], y[:100]), (x[100:], y[100:]),
                  epochs=20, batch_size=10)
    assert not measure(case).test.diverged
    assert reported(check(case)) == {}


def test_skips_without_an_optimizer_step():
    with pytest.raises(Skip, match="optimizer step"):
        check(Case(Trace(), Copies()))


def test_skips_when_no_learning_rate_was_recorded():
    case = learnable_run(torch.optim.Adam, 1e-3)
    case.trace.learning_rates, case.trace.setup.lr_schedule = [], []
    case.copies.optimizer_hparams.pop("lr")
    with pytest.raises(Skip, match="learning rate"):
        check(case)


def test_learning_rates_read_as_people_write_them():
    assert [plain_lr(v) for v in (1.0, 0.014, 1e-6, 3.2e-5)] == ["1.0", "0.01", "1e-6", "3e-5"]
    assert plain_lr(0.00153, 3) == "0.00153"
    assert math.isclose(float(plain_lr(0.0153)), 0.02)


def test_a_run_stuck_at_the_constant_guess_stalled_though_its_untrained_model_was_worse():
    """An untrained model worse than a constant guess (a large output layer) "progresses" by
    learning the targets' mean: progress is measured from the constant guess then."""
    run = [0.9] * 10 + [0.70] * 10  # from the untrained 0.91 to the constant guess's 0.69
    lower = Counterfactual(0.01, ReplayResult([0.5] * 10 + [0.33] * 10, []))
    stuck = Measures(1.0, "Adam", None, None, run, untrained_loss=0.91, constant_loss=0.693)
    assert stuck.stalled(lower)
    assert not replace(stuck, constant_loss=None).stalled(lower)
    learning = replace(stuck, run_losses=[0.9] * 10 + [0.45] * 10)
    assert not learning.stalled(lower)


def _falls_then_rises(steps=320, low=0.05, end=0.4):
    """A training loss that falls to ``low`` by the middle of the run, then climbs to ``end``."""
    half = steps // 2
    return ([2.0 - (2.0 - low) * i / half for i in range(half)]
            + [low + (end - low) * i / (steps - half) for i in range(steps - half)])


def test_a_loss_that_ends_at_its_best_has_not_risen_and_one_that_climbs_back_has():
    assert rise([2.0 - i / 200 for i in range(320)]) == pytest.approx(1.0)
    assert rise(_falls_then_rises()) > 2.0
    assert rise([0.5] * 5) == 1.0  # too short to cut into stretches


def test_an_lr_below_the_range_tests_lowest_point_is_too_high_for_a_run_that_rose():
    """A range test takes a few steps per lr: its lowest point (0.25) can lie above an lr (0.1)
    at which a whole run falls and then climbs back (sequence_tagging_bilstm_crf_lr)."""
    test = RangeTest([1e-3, 0.25, 1.2], [3.0, 0.5, 9.0], [3.0, 0.5, 9.0], 0.25, 0.025, 1.2)
    baseline = ReplayResult(_falls_then_rises(), [0.7])
    rose = Measures(0.1, "Adam", test, baseline, _falls_then_rises(), 25.0)
    fell = replace(rose, run_losses=[2.0 - i / 200 for i in range(320)])
    assert _late_rise_position(rose) and not _late_rise_position(fell)
    lower = Counterfactual(0.025, ReplayResult(_falls_then_rises(end=0.05), [0.2]))
    assert rose.late_rise(lower) > 2.0
    verdict = _high_verdict(rose, lower, symptom=True)
    assert "fell, then rose to" in verdict and "not for a whole run" in verdict


def test_a_run_that_settled_far_above_the_lower_lrs_loss_shows_the_lr_is_too_high():
    """Adam at lr 1.0 on a language model: the loss fell a quarter of the way from the
    untrained model's, where lr 0.01 gets 60% of the way on the same batches, without NaN,
    swings or a late rise (language_model_adam_lr_one). Less than half the way is a symptom;
    most of the way is not."""
    test = RangeTest([1e-3, 0.1, 4.0], [4.1, 2.0, 9.0], [4.1, 2.0, 9.0], 0.1, 0.01, 4.0)
    lower = Counterfactual(0.01, ReplayResult([4.1] + [1.6] * 19, [1.77]))
    baseline = ReplayResult([4.1] + [3.1] * 19, [2.75])
    settled = Measures(1.0, "Adam", test, baseline, [4.1] + [3.1] * 19, untrained_loss=4.1)
    assert not settled.stalled(lower) and settled.settled_high(lower)
    assert _high_symptom(settled, lower)
    verdict = _high_verdict(settled, lower, symptom=True)
    assert "second half of your run" in verdict and "at lr 0.01" in verdict
    most_of_the_way = replace(settled, run_losses=[4.1] + [2.1] * 19)
    assert not most_of_the_way.settled_high(lower)
    assert not _high_symptom(most_of_the_way, lower)


def test_plain_sgd_a_decade_below_the_lowest_point_is_too_low_when_the_run_lags():
    """Plain SGD at 0.01, under two decades below the range test's suggestion, is too low when
    the run and its replay lag a replay at the higher lr (adam_to_sgd_same_lr, dev seeds
    13477-14023: SGD at the rate Adam was given)."""
    finding = reported(check(learnable_run(torch.optim.SGD, 0.01)))[LR_TOO_LOW]
    evidence = finding.evidence
    assert evidence["decades_below_suggestion"] < 2 <= evidence["decades_below_lowest_point"]
    assert evidence["replayed_lr"] > 10 * 0.01
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert "the loss is lowest at about" in finding.verdict


def test_a_run_lags_only_when_the_replay_of_its_setup_lags_too():
    """Near the range test's pick, a run that got little way, whose replay at its own lr
    keeps up with the higher lr, is not held back by the lr."""
    higher = Counterfactual(0.1, ReplayResult([0.7] * 10 + [0.1] * 10, []))
    stuck = Measures(0.01, "SGD", None, ReplayResult([0.7] * 20, []), [0.7] * 20, 0.7)
    assert stuck.may_lag and stuck.lagging(higher)
    keeps_up = replace(stuck, baseline=ReplayResult([0.7] * 10 + [0.2] * 10, []))
    assert not keeps_up.may_lag and not keeps_up.lagging(higher)
    learned = replace(stuck, run_losses=[0.7] * 10 + [0.3] * 10)
    assert not learned.lagging(higher)


def test_a_flat_range_test_leaves_a_run_that_may_lag_to_the_replay():
    """Plain SGD at 0.01 on a small CNN barely moves in the range test's step or two per lr
    (dev case 30018, plain_sgd: a drop of 0.04), yet 0.3 learns in a replay: the run is looked
    at (the replay must then beat the constant guess); a run that made progress is not."""
    flat = RangeTest([1e-4, 3.0, 10.0], [1.1, 1.06, 1.08], [1.1, 1.06, 1.08], 3.0, 0.3, None)
    stuck = Measures(0.01, "SGD", flat, ReplayResult([1.1] * 20, [1.09]), [1.1] * 20, 1.1)
    assert not stuck.responds_to_lr and _near_low_position(stuck)
    learned = replace(stuck, run_losses=[1.1] + [0.3] * 19,
                      baseline=ReplayResult([1.1] + [0.3] * 19, [0.3]))
    assert not _near_low_position(learned)


def test_a_higher_lr_that_only_gets_sooner_where_the_run_got_is_not_blamed(monkeypatch):
    """A run that learns steadily trails a 300-step replay at a higher lr on the captured
    batches, and still gets where it gets (the held-out set's twins: lr_too_low on runs that
    learn). The same replays, with the run's own best validation loss within a tenth of the
    higher lr's, are no cause: the higher lr gets there sooner, not further."""
    case = learnable_run(torch.optim.SGD, 0.01)
    finding = reported(check(case))[LR_TOO_LOW]
    monkeypatch.setattr(case, "run_best_validation", lambda: 1.05 * finding.experiment.after)
    [dismissed] = [f for f in check(case) if f.cause is LR_TOO_LOW]
    assert dismissed.confidence < REPORT_THRESHOLD
    assert "sooner, not further" in dismissed.verdict
    assert dismissed.evidence["run_best_val_loss"] == 1.05 * finding.experiment.after


def _passes(losses):
    from lossdoctor.trace import ValidationPass
    return [ValidationPass(10 * (i + 1), i, v, 4, 100) for i, v in enumerate(losses)]


def test_a_run_still_learning_steadily_is_not_held_back_by_its_lr(monkeypatch):
    """The same replays at a higher lr, with the run's own validation curve falling steadily
    to half the progress the higher lr makes (dev 21085's twin: AdamW at 1e-3, 0.685 to 0.431
    in 12 epochs, still falling): a run that learns at a steady pace is no lr_too_low, however
    much sooner a higher lr gets there. A run whose curve stays near the constant guess is."""
    case = learnable_run(torch.optim.SGD, 0.01)
    finding = reported(check(case))[LR_TOO_LOW]
    guess, ahead = case.constant_guess_loss("validation"), finding.experiment.after
    end = ahead + 0.5 * (guess - ahead)
    steady = [guess - 0.01 - (guess - 0.01 - end) * i / 7 for i in range(8)]
    monkeypatch.setattr(case.trace, "validation_passes", lambda: _passes(steady))
    [dismissed] = [f for f in check(case) if f.cause is LR_TOO_LOW]
    assert dismissed.confidence < REPORT_THRESHOLD
    assert "learns steadily" in dismissed.verdict
    stuck = [guess - 0.002 * i for i in range(8)]
    monkeypatch.setattr(case.trace, "validation_passes", lambda: _passes(stuck))
    assert LR_TOO_LOW in reported(check(case))


def test_a_run_a_third_of_the_way_in_a_straight_line_is_held_back(monkeypatch):
    """The same replays, with the run's own curve falling in a straight line to a third of
    the progress the higher lr makes (dev plain_sgd 32006: plain SGD at 0.02 on an LSTM, 0.697
    to 0.521 against a guess of 0.694, where lr 0.8 gets to 0.175, and training longer would
    get there in 1.6 run lengths): no steady learner, the lr is too low."""
    case = learnable_run(torch.optim.SGD, 0.01)
    finding = reported(check(case))[LR_TOO_LOW]
    guess, ahead = case.constant_guess_loss("validation"), finding.experiment.after
    end = guess - (guess - ahead) / 3
    line = [guess - (guess - end) * i / 7 for i in range(8)]
    assert runs_to_reach(line, ahead) <= MORE_RUNS
    monkeypatch.setattr(case.trace, "validation_passes", lambda: _passes(line))
    assert LR_TOO_LOW in reported(check(case))


def test_a_run_falling_too_slowly_to_get_there_by_training_longer_is_held_back(monkeypatch):
    """The same replays, with the run's own curve still falling but at a pace that would take
    several times its length to reach the higher lr's loss (dev plain_sgd 20106: plain SGD at
    0.04 on a GRU, 0.614 to 0.439 against a guess of 0.625, 0.015 a pass at the end, where lr
    1.7 gets to 0.0006): "training longer" is no fix, the lr is too low."""
    case = learnable_run(torch.optim.SGD, 0.01)
    finding = reported(check(case))[LR_TOO_LOW]
    guess, ahead = case.constant_guess_loss("validation"), finding.experiment.after
    share = [0.0, 0.16, 0.29, 0.38, 0.45, 0.52, 0.56, 0.59, 0.62]  # of the way to 0.3 of it
    slow = [guess - 0.3 * (guess - ahead) * s / 0.62 for s in share]
    assert runs_to_reach(slow, ahead) > MORE_RUNS
    monkeypatch.setattr(case.trace, "validation_passes", lambda: _passes(slow))
    assert LR_TOO_LOW in reported(check(case))


def test_runs_to_reach_reads_the_pace_of_the_last_third():
    twin_21085 = [0.6846, 0.6729, 0.6508, 0.6184, 0.5961, 0.5703, 0.5398, 0.5058, 0.4867,
                  0.4683, 0.4498, 0.4308]
    broken_20106 = [0.6139, 0.5736, 0.5425, 0.5182, 0.4994, 0.4841, 0.4697, 0.4553, 0.4387]
    assert runs_to_reach(twin_21085, 0.1241) == pytest.approx(1.36, abs=0.01)
    assert runs_to_reach(broken_20106, 0.0006) == pytest.approx(3.22, abs=0.01)
    assert runs_to_reach([0.5, 0.4, 0.4, 0.4], 0.1) == math.inf
    assert runs_to_reach([0.5, 0.4, 0.3], 0.3) == 0.0
def _falling_late(start, end, steps=40):
    """A training loss from ``start`` to ``end`` that falls fastest at its end (as t cubed):
    its second half's mean is still far above where it got."""
    return [start - (start - end) * (i / (steps - 1)) ** 3 for i in range(steps)]


def test_a_training_loss_still_falling_at_its_end_learns_steadily():
    """Without validation passes, the training loss is asked what the validation curve is: a
    run that got 45% of the higher lr's progress by its end, still falling, learns steadily,
    though the mean of its second half (21%) reads as stalled. A run that stays near its
    start does not."""
    higher = Counterfactual(0.1, ReplayResult([1.0] * 10 + [0.2] * 10, [0.2]))
    run = _falling_late(1.0, 1.0 - 0.45 * 0.8)
    steady = Measures(0.001, "SGD", None, ReplayResult([1.0] * 20, [0.9]), run, 1.0)
    assert steady.stalled(higher) and training_steadily(steady, higher)
    stuck = replace(steady, run_losses=_falling_late(1.0, 0.97))
    assert stuck.stalled(higher) and not training_steadily(stuck, higher)
    flat_end = replace(steady, run_losses=run[:20] + [run[-1]] * 20)
    assert not training_steadily(flat_end, higher)


def test_a_run_without_validation_passes_still_learning_is_not_held_back(monkeypatch):
    """check() on a run without validation passes whose training loss is still falling at its
    end, 45% of the way the higher lr's replay gets: dismissed as learning steadily; the same
    run with its training loss near its start is reported."""
    case = learnable_run(torch.optim.SGD, 0.01)
    monkeypatch.setattr(case.trace, "validation_passes", lambda: [])
    m = measure(case)
    ahead = m.progress(_best_higher(case.replayer, m).replay.train_losses)
    curve = _falling_late(m.nothing_learned, m.nothing_learned * (1 - 0.45 * ahead))
    monkeypatch.setattr(case.trace, "step_losses", lambda: list(enumerate(curve)))
    [dismissed] = [f for f in check(case) if f.cause is LR_TOO_LOW]
    assert dismissed.confidence < REPORT_THRESHOLD
    assert "training loss fell from" in dismissed.verdict
    stuck = _falling_late(m.nothing_learned, 0.99 * m.nothing_learned)
    monkeypatch.setattr(case.trace, "step_losses", lambda: list(enumerate(stuck)))
    assert LR_TOO_LOW in reported(check(case))


def _canned_replays(case, monkeypatch, works, user_keeps_up=False):
    """Replays of ``case`` answered from a table instead of run: rates in ``works`` learn
    (validation a tenth of the constant guess), the user's own rate learns only when
    ``user_keeps_up``, and every other rate stays at the guess (plain SGD collapsing above its
    window)."""
    guess = case.constant_guess_loss("validation")
    start = case.replayer.evaluate(case.copies.initial_model, case.replayer.train_batches)
    user_lr = case.replayer.user_lr

    def replay(plan):
        lr = plan.lr if plan.lr is not None else user_lr
        learns = any(math.isclose(lr, w) for w in works) or (
            user_keeps_up and math.isclose(lr, user_lr))
        half = plan.steps // 2
        train = [start] * half + [(0.1 if learns else 1.0) * start] * (plan.steps - half)
        level = (0.1 if learns else 1.0) * guess
        return ReplayResult(train, [level] * 10, planned_steps=plan.steps,
                            start_validation=guess)

    monkeypatch.setattr(case.replayer, "replay", replay)
    stuck = [guess - 0.001 * i for i in range(10)]
    monkeypatch.setattr(case.trace, "validation_passes", lambda: _passes(stuck))
    monkeypatch.setattr(case.trace, "step_losses",
                        lambda: [(i, start) for i in range(100)])
    test = RangeTest([1e-3, 0.05, 0.5, 5.0], [start, 0.8 * start, 0.5 * start, math.inf],
                     [start, 0.8 * start, 0.5 * start, math.inf], 0.5, 0.05, 5.0)
    monkeypatch.setattr("lossdoctor.checks.learning_rate.lr_range_test", lambda *a, **k: test)


def test_a_short_run_held_back_by_its_rate_is_judged_in_its_own_steps(monkeypatch):
    """Plain SGD at 0.06, under a decade below the range test's lowest point (0.5), in a run of
    100 steps that stayed at the constant guess, where twice its rate learns in those steps and
    the range test's 0.5 collapses (dev plain_sgd 40006: SGD 0.04, lowest point 0.37, 105 steps;
    0.07 reaches 0.65 against a guess of 7.76, 0.12 and above collapse): too low, with the
    doubled rate as the fix, every replay as long as the run."""
    case = learnable_run(torch.optim.SGD, 0.06)
    _canned_replays(case, monkeypatch, works=[0.12])
    finding = reported(check(case))[LR_TOO_LOW]
    assert finding.evidence["replayed_lr"] == pytest.approx(0.12)
    assert finding.evidence["replay_steps"] == 100
    assert "your rate doubled up to 0.5" in finding.verdict
    assert finding.experiment.after < 0.5 * finding.experiment.before


def test_a_short_run_whose_own_rate_keeps_up_in_its_steps_is_not_blamed(monkeypatch):
    """The twin of the case above: the replay of the user's own setup, as long as the run,
    learns as far as the doubled rate does. No higher rate helps: nothing is reported."""
    case = learnable_run(torch.optim.SGD, 0.06)
    _canned_replays(case, monkeypatch, works=[0.12], user_keeps_up=True)
    assert LR_TOO_LOW not in reported(check(case))


def _more_steps_learn(monkeypatch, case, learns):
    """The run's rows at its own rate in smaller batches (more steps) answered like the canned
    replays: they learn (a tenth of the constant guess) or stay at the guess."""
    guess = case.constant_guess_loss("validation")

    def replay_rebatched(replayer, pool, batch, lr, rows, cap, user_batch):
        level = (0.1 if learns else 1.0) * guess
        return ReplayResult([level] * cap, [level] * 10, planned_steps=cap,
                            start_validation=guess)

    monkeypatch.setattr("lossdoctor.checks.learning_rate.replay_rebatched", replay_rebatched)


def test_a_short_run_that_more_steps_at_its_own_rate_fix_is_not_blamed_on_the_rate(
        monkeypatch):
    """The short run above, where the same rows in smaller batches at the user's own rate learn
    as far as twice the rate does in the run's steps (issue 11: the whole training set as one
    batch, two batches per epoch, a few dozen rows; lr_too_low came first): the run is short of
    steps, not of rate. Dismissed, with both replays' numbers."""
    case = learnable_run(torch.optim.SGD, 0.06)
    _canned_replays(case, monkeypatch, works=[0.12])
    _more_steps_learn(monkeypatch, case, learns=True)
    [finding] = [f for f in check(case) if f.cause is LR_TOO_LOW]
    assert finding.confidence < REPORT_THRESHOLD
    assert "short of steps, not of learning rate" in finding.verdict
    assert finding.evidence["more_steps_batch_size"] == 10  # 100 steps of 32 rows over 300
    assert finding.evidence["more_steps_val_after"] <= finding.evidence["val_after"]


def test_a_short_run_whose_rate_more_steps_cannot_save_is_blamed_on_the_rate(monkeypatch):
    """Its twin: at the user's rate, more steps stay at the constant guess (a rate far below
    any that works, the generator's lr_divided): the rate is the cause."""
    case = learnable_run(torch.optim.SGD, 0.06)
    _canned_replays(case, monkeypatch, works=[0.12])
    _more_steps_learn(monkeypatch, case, learns=False)
    assert LR_TOO_LOW in reported(check(case))


def test_the_ladder_doubles_the_rate_up_to_the_lowest_point():
    test = RangeTest([1e-3, 0.37], [1.0, 0.5], [1.0, 0.5], 0.37, 0.037, None)
    m = Measures(0.04, "SGD", test, ReplayResult([], []), [1.0] * 105, 1.0)
    assert _doublings(m) == pytest.approx([0.08, 0.16, 0.32])
    assert _doublings(replace(m, user_lr=0.2)) == []
    assert _replay_steps(m) == 105
    assert _replay_steps(replace(m, run_losses=[1.0] * 270)) == REPLAY_STEPS  # nearly as long
    assert _replay_steps(replace(m, run_losses=[1.0] * 5000)) == REPLAY_STEPS


def _long_run_behind(case, monkeypatch, run_end, higher_in_own_steps, arrives_at=6,
                     lowest=0.5):
    """``case`` as a run of 768 steps whose training loss fell to a third of the untrained
    model's (more than half the progress there is: no "lagging" run) and whose validation
    loss ended at ``run_end`` times the constant guess. Replays are answered from a table: the
    user's rate settles at 0.8 of the guess, the range test's lowest point (0.5) at 0.65
    in a 300-step replay and at ``higher_in_own_steps`` in a replay as long as the run
    (LONGEST_OWN_LENGTH steps: the run leads the higher rate's 300 steps and trails its own),
    its validation loss falling in a straight line from the guess to there by its
    ``arrives_at``-th of 10 evaluations."""
    guess = case.constant_guess_loss("validation")
    start = case.replayer.evaluate(case.copies.initial_model, case.replayer.train_batches)

    def replay(plan):
        lr = plan.lr if plan.lr is not None else case.replayer.user_lr
        level = 0.8 if not math.isclose(lr, lowest) else (
            0.65 if plan.steps <= REPLAY_STEPS else higher_in_own_steps)
        falling = [guess * (1 - (1 - level) * min(1.0, (k + 1) / arrives_at))
                   for k in range(10)]
        return ReplayResult([start] * 10 + [level * start] * (plan.steps - 10),
                            falling, planned_steps=plan.steps, start_validation=guess)

    monkeypatch.setattr(case.replayer, "replay", replay)
    monkeypatch.setattr(case.trace, "step_losses",
                        lambda: [(i, start if i < 100 else start / 3) for i in range(768)])
    curve = [guess * (1 - (1 - run_end) * i / 7) for i in range(8)] + [run_end * guess] * 2
    monkeypatch.setattr(case.trace, "validation_passes", lambda: _passes(curve))
    rates = [lowest / 500, lowest / 10, lowest, lowest * 10]
    test = RangeTest(rates, [start, 0.8 * start, 0.5 * start, math.inf],
                     [start, 0.8 * start, 0.5 * start, math.inf], lowest, lowest / 10,
                     lowest * 10)
    monkeypatch.setattr("lossdoctor.checks.learning_rate.lr_range_test", lambda *a, **k: test)


def test_a_long_run_far_behind_a_higher_rate_in_as_many_steps_is_too_low(monkeypatch):
    """Plain SGD at 0.001 (2.7 decades below the range test's lowest point), 768 steps, its
    validation loss still falling to 0.6 of the constant guess (the curve reads "improving",
    and further than the higher rate's 300-step replay gets), where lr 0.5 for as many steps
    gets to 0.1 of it: the run covered 44% of that way (issue 11: plain SGD for 768 steps,
    called healthy)."""
    case = learnable_run(torch.optim.SGD, 0.001)
    _long_run_behind(case, monkeypatch, run_end=0.6, higher_in_own_steps=0.1)
    finding = reported(check(case))[LR_TOO_LOW]
    assert finding.evidence["share_left_in_own_steps"] == pytest.approx(0.5 / 0.9)
    assert "for as many steps (600)" in finding.verdict
    assert "covered 44% of that way" in finding.verdict


def test_a_run_without_the_symptom_at_a_usual_rate_gets_no_lr_finding(monkeypatch):
    """The run above, far behind a higher rate, reported too low while its curves show no
    symptom: at SGD's usual 0.001 it is advice, not a diagnosis (dev: every such finding at a
    usual rate was wrong, 5 of them on fixed twins); below SGD's usual rates (1.25e-4, SGD at
    Adam's rate) it stands without a symptom. A run whose curves show one is blamed as before."""
    for lr, symptom, blamed in ((0.001, False, False), (0.001, True, True),
                                (1.25e-4, False, True)):
        case = learnable_run(torch.optim.SGD, lr)
        case.curves_show_symptom = symptom
        _long_run_behind(case, monkeypatch, run_end=0.6, higher_in_own_steps=0.1, arrives_at=1)
        assert (LR_TOO_LOW in reported(check(case))) is blamed, (lr, symptom)


def test_a_long_run_that_kept_up_with_a_higher_rate_in_its_own_steps_is_not_blamed(
        monkeypatch):
    """The twin: the same replays, the run's validation loss ending at 0.2 of the guess, where
    lr 0.5 gets to 0.1 in as many steps (a replay at the higher rate does twice as well, and
    the run still covered 89% of its way), or at 0.45 (61%): nothing is reported. Nor at 0.6
    for a usual rate (0.01, 1.7 decades below the lowest point) that trails the higher rate as
    far (dev twin 90001 of adam_to_sgd_same_lr: RMSprop at 1e-3, left 0.54)."""
    case = learnable_run(torch.optim.SGD, 0.001)
    _long_run_behind(case, monkeypatch, run_end=0.2, higher_in_own_steps=0.1)
    assert LR_TOO_LOW not in reported(check(case))
    _long_run_behind(case, monkeypatch, run_end=0.45, higher_in_own_steps=0.1)
    assert LR_TOO_LOW not in reported(check(case))  # 61% of the way: kept up
    usual = learnable_run(torch.optim.SGD, 0.01)
    _long_run_behind(usual, monkeypatch, run_end=0.6, higher_in_own_steps=0.1)
    assert LR_TOO_LOW not in reported(check(usual))


def test_a_long_run_that_covered_most_of_the_way_ten_times_slower_is_too_low(monkeypatch):
    """SGD at 1.25e-4 (Adam's rate, below any usual SGD rate) ends at 0.2 of the guess, most
    of the way to the 0.1 that lr 0.5 gets to in as many steps (left 11%, not "far behind"),
    but lr 0.5 is down to 0.2 within its first 60 steps of 600, ten times as fast as the
    run's 768 (issue 11: SGD with momentum at 1.25e-4 on a heatmap detector, falling from 2.2
    to 0.5 in 200 steps where lr 0.05 gets there in 9, called healthy). Falling as slowly at a
    usual SGD rate (0.001 and 0.01: an easy problem's range test tolerates rates far above
    them), or with Adam, it is not blamed."""
    case = learnable_run(torch.optim.SGD, 1.25e-4)
    _long_run_behind(case, monkeypatch, run_end=0.2, higher_in_own_steps=0.1, arrives_at=1)
    finding = reported(check(case))[LR_TOO_LOW]
    assert finding.evidence["share_left_in_own_steps"] < 0.15
    assert finding.evidence["times_faster_at_higher_lr"] >= 10
    assert "times as fast as your run's 768" in finding.verdict
    for optimizer_class, lr in ((torch.optim.SGD, 0.001), (torch.optim.SGD, 0.01),
                                (torch.optim.Adam, 1.25e-4)):
        usual = learnable_run(optimizer_class, lr)
        _long_run_behind(usual, monkeypatch, run_end=0.2, higher_in_own_steps=0.1,
                         arrives_at=1)
        assert LR_TOO_LOW not in reported(check(usual))


@pytest.mark.parametrize("optimizer_class, lr, lowest, blamed", [
    (torch.optim.SGD, 1.25e-4, 5e-3, True), (torch.optim.Adam, 1.25e-4, 5e-3, False),
    (torch.optim.SGD, 1e-3, 0.04, False), (torch.optim.SGD, 1.25e-4, 1e-3, False)])
def test_sgd_at_adams_rate_ten_times_slower_is_too_low_a_decade_and_a_half_below_the_lowest_point(
        monkeypatch, optimizer_class, lr, lowest, blamed):
    """The run above (ten times slower than a higher rate, most of the way there) with the
    range test's lowest point 1.6 decades above its rate, where a test cut by the budget to
    five steps a decade put it for SGD with momentum at Adam's 1e-4 (dev scripts of session 32,
    2.6 decades on a whole test; the corpus' heatmap detector was called healthy so): SGD below
    its usual rates is blamed from a decade below that point. Adam at the same rate, SGD at its
    usual 1e-3 and SGD within a decade of the lowest point are not."""
    case = learnable_run(optimizer_class, lr)
    _long_run_behind(case, monkeypatch, run_end=0.2, higher_in_own_steps=0.1, arrives_at=1,
                     lowest=lowest)
    assert (LR_TOO_LOW in reported(check(case))) is blamed


def test_adam_at_a_conventional_rate_far_from_the_range_tests_lowest_point_is_not_blamed(
        monkeypatch):
    """Adam at 1e-3, 2.7 decades below the range test's lowest point, trailing a higher rate
    in its own steps as far as the SGD run above: Adam's rates are conventions set far below
    what a range test tolerates (corpus twins at Adam 1e-3, 3e-4 and 2e-4 were called too
    low)."""
    case = learnable_run(torch.optim.Adam, 0.001)
    _long_run_behind(case, monkeypatch, run_end=0.6, higher_in_own_steps=0.1)
    assert LR_TOO_LOW not in reported(check(case))


@pytest.mark.parametrize("optimizer, lr, first", [("SGD", 5e-5, True), ("SGD", 0.02, False),
                                                  ("Adam", 1e-5, False)])
def test_sgd_below_its_usual_rates_is_the_setting_changed_first(optimizer, lr, first):
    """SGD at 1e-5 to 1e-4 (dev sgd_tiny_lr): the rate leads the optimizer in the ranking
    (measured_consequences.CHANGED_FIRST); at SGD's usual 0.02 the optimizer does, and an
    adaptive optimizer's rate is no SGD rate."""
    marked = _changed_first(SimpleNamespace(optimizer=optimizer, user_lr=lr))
    assert (marked == {CHANGED_FIRST: 1.0}) is first


def _relu_run(lr):
    """Two ReLU layers on a linear rule, plain SGD at ``lr``."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(800, 8, generator=generator)
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2))
    return record(fit, model, torch.optim.SGD(model.parameters(), lr=lr),
                  nn.CrossEntropyLoss(), (x[:600], y[:600]), (x[600:], y[600:]), epochs=10)


def _quiet_range_test(monkeypatch) -> None:
    """A range test that places any rate below its lowest point and never blows up: neither
    "too high" position of the range test holds."""
    quiet_test = RangeTest([0.01, 1.0, 100.0], [0.7, 0.6, 0.65], [0.7, 0.6, 0.65], 100.0,
                           10.0, None)
    monkeypatch.setattr(learning_rate, "lr_range_test", lambda *args, **kwargs: quiet_test)


def test_relu_units_the_first_updates_killed_are_tested_with_a_lower_rate(monkeypatch):
    """bench/fresh20 s13 (Adam at 0.05 on a character CNN): 94% of the first conv's units dead
    from step 4, the loss at the constant guess, and a range test that placed the rate below
    its lowest point without blowing up, so neither "too high" position held and dead_relu's
    LeakyReLU replay, which does not test the rate, came first. Units alive at the start that
    the first updates killed are now tested with a replay a decade lower; the same model at a
    usual rate kills nothing and is not blamed, with the same range test."""
    _quiet_range_test(monkeypatch)
    killed = reported(check(_relu_run(15.0)))
    assert set(killed) == {LR_TOO_HIGH}
    finding = killed[LR_TOO_HIGH]
    assert finding.evidence["relu_dead_share_at_start"] < 0.4
    assert finding.evidence["relu_dead_share_after_first_steps"] > 0.5
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert "killed the ReLU units" in finding.verdict
    assert LR_TOO_HIGH not in reported(check(_relu_run(0.1)))



class _TokenEncoder(nn.Module):
    """A one-layer transformer encoder over token ids, mean-pooled into two classes."""

    def __init__(self, vocab, width):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        layer = nn.TransformerEncoderLayer(width, 2, dim_feedforward=2 * width, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1)
        self.head = nn.Linear(width, 2)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


def _token_run(lr):
    """AdamW at ``lr`` on which of two token groups is more frequent in a sequence of 8: at
    0.3 the loss sits at the constant guess (0.69), at 3e-3 it reaches 0.05."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 20, (600, 8), generator=generator)
    y = ((x < 5).sum(1) > (x >= 15).sum(1)).long()
    torch.manual_seed(0)
    model = _TokenEncoder(20, 16)
    return record(fit, model, torch.optim.AdamW(model.parameters(), lr=lr),
                  nn.CrossEntropyLoss(), (x[:480], y[:480]), (x[480:], y[480:]), epochs=8)


def _flat_range_test(user_lr):
    """A range test whose loss hardly moves (a 1% drop, lowest far below the user's rate) and
    blows up five times above it: bench/projects5's BERT under AdamW at 0.05."""
    lrs = [user_lr * 10 ** k for k in (-6, -5, -4, -3, -2, -1, 0)]
    losses = [0.700, 0.699, 0.693, 0.697, 0.698, 0.699, 0.700]
    return RangeTest(lrs, losses, losses, user_lr * 1e-4, user_lr * 1e-5, user_lr * 5)


def test_a_flat_range_test_replays_rates_a_decade_and_two_below_the_users(monkeypatch):
    """bench/projects5 hf_text_classification at lr 0.05: the range test is flat and blows up
    above 0.35; its suggestion (2.9e-4) trained no better than the user's rate in 300 steps,
    so nothing was reported although 3e-3 trains. On a flat test the rates tried are the
    user's a decade and two below, the best kept (fails on 5a5fb0f, which replayed only the
    suggestion, here 3e-6, and reported nothing)."""
    monkeypatch.setattr(learning_rate, "lr_range_test",
                        lambda replayer, *args, **kwargs: _flat_range_test(0.3))
    found = reported(check(_token_run(0.3)))
    assert set(found) == {LR_TOO_HIGH}
    finding = found[LR_TOO_HIGH]
    assert finding.evidence["replayed_lr"] in (pytest.approx(0.03), pytest.approx(0.003))
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert "hardly moves at any rate" in finding.verdict


def test_a_flat_range_test_leaves_a_usual_rate_alone(monkeypatch):
    """The twin: AdamW at 3e-3 under the same flat range test; a decade and two lower do no
    better, and nothing is reported."""
    monkeypatch.setattr(learning_rate, "lr_range_test",
                        lambda replayer, *args, **kwargs: _flat_range_test(3e-3))
    assert reported(check(_token_run(3e-3))) == {}


def test_a_higher_rate_that_only_moves_the_weights_out_of_a_start_far_off_is_not_blamed(
        monkeypatch):
    """Dev normal_std_one 361011 (every weight N(0, 1), Adam at 1e-3): lr 0.5 took the replay
    from 1.25 to 0.003 and lr_too_low was reported beside bad_init (the test part's 760081
    reported it first). From PyTorch's default initialization the user's rate reached 0.369 and
    lr 0.5 0.45: the rate is not too low for a model started well, and is kept dismissed."""
    case = learnable_run(torch.optim.SGD, 1e-6)
    started_well = Experiment("lr 0.5 instead of yours, from the default init", 0.369, 0.45,
                              REPLAY_STEPS)
    monkeypatch.setattr(learning_rate, "from_default_init", lambda case, lr: started_well)
    [low] = [f for f in check(case) if f.cause is LR_TOO_LOW]
    assert low.confidence < REPORT_THRESHOLD
    assert "starts far off" in low.verdict


def test_the_rate_is_replayed_from_the_default_init_only_for_a_start_far_off():
    """A model of weights N(0, 1) starts far off and gets both replays from the default init;
    the same model at PyTorch's default initialization gets none (the rate is judged as
    before)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 10, generator=generator)
    y = (x @ torch.randn(10, generator=generator) > 0).long()
    cases = []
    for std in (1.0, None):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                              nn.Linear(64, 2))
        for parameter in model.parameters() if std else ():
            nn.init.normal_(parameter, std=std)
        cases.append(record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                            nn.CrossEntropyLoss(), (x[:400], y[:400]), (x[400:], y[400:]),
                            epochs=3))
    far, standard = cases
    started_well = from_default_init(far, 1e-2)
    assert started_well is not None and "default initialization" in started_well.description
    assert from_default_init(standard, 1e-2) is None


def _momentum_run(lr, seed=2):
    """SGD with momentum 0.9 on a linear teacher's two classes: at 0.8 the validation loss
    falls to 0.12 in three epochs, blows up, and sits at the constant guess (0.69) for the
    last six; at 0.05 it learns and keeps it."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 10, generator=generator)
    y = (x @ torch.randn(10, generator=generator) > 0).long()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:400], y[:400]),
                  (x[400:], y[400:]), epochs=10)


@pytest.mark.slow
def test_a_run_that_learned_and_fell_back_to_the_constant_guess_has_its_rate_too_high(
        monkeypatch):
    """bench/projects8's LeNet at SGD 0.1 with momentum: validation 2.21, 1.69, then ln 10 to
    the end; no late rise of the training loss (its eighths averaged the dip away) and a range
    test that placed the rate below its lowest point, so nothing was reported and a model too
    small was blamed. A curve that clearly beat the guess and fell back to it for good is now
    replayed a decade lower; the same model at a usual rate is not blamed."""
    _quiet_range_test(monkeypatch)
    found = reported(check(_momentum_run(0.8)))
    assert set(found) == {LR_TOO_HIGH}
    finding = found[LR_TOO_HIGH]
    assert finding.evidence["collapse_best_loss"] < 0.5 * finding.evidence["collapse_end_loss"]
    assert finding.evidence["replayed_lr"] == pytest.approx(0.08)
    assert "knocked your model off what it had learned" in finding.verdict
    assert LR_TOO_HIGH not in reported(check(_momentum_run(0.05)))


@pytest.mark.slow
def test_a_recorded_run_that_fell_back_is_read_as_a_collapse_and_its_twin_is_not():
    """The reading alone on recorded runs (tests/test_collapse.py reads it on curves): the run
    at 0.8 fell back, the one at 0.05 did not."""
    collapsed = collapsed_run(_momentum_run(0.8))
    assert collapsed is not None and collapsed.best < 0.2 < 0.6 < collapsed.end
    assert collapsed_run(_momentum_run(0.05)) is None


def test_a_collapse_its_own_replay_did_not_repeat_is_measured_against_where_the_run_ended():
    """Dev 431012 (LeNet, SGD 0.117 with momentum): the run fell back to ln 4 after its first
    epoch, its replay at the same rate reached 2e-10 and the lower rate's 0.0007, which was no
    fix against that replay. The experiment then starts from where the run ended, and the
    verdict says the user's rate did not fall back in its replay this time."""
    baseline = ReplayResult([1.39, 0.1, 0.0], [0.5, 2.4e-10, 2.4e-10, 2.4e-10],
                            planned_steps=300)
    lower = Counterfactual(0.0117, ReplayResult([1.39, 0.5, 0.001],
                                                [1.38, 0.7, 0.0007, 0.0007, 0.0007],
                                                planned_steps=300))
    m = Measures(0.117, "SGD", RangeTest([0.01, 1.0], [1.4, 1.3], [1.4, 1.3], 0.4, 0.04, 0.5),
                 baseline, [1.2, 1.39, 1.39], 1.39)
    collapse = fell_back([0.396, 1.444, 1.406, 1.386, 1.393, 1.389, 1.39, 1.39], 1.3894)
    experiment = learning_rate._against_the_run(m, lower, collapse)
    assert experiment.before == pytest.approx(1.39, abs=0.01)
    assert experiment.after == pytest.approx(0.0007)
    verdict = learning_rate._collapse_verdict(m, lower, collapse)
    assert "fell to 0.396 (pass 1 of 8)" in verdict
    assert "got to 2.4e-10 this time" in verdict
