"""The one bar and the one measure every check uses to say whether a fix helped."""

import math

import pytest

from lossdoctor.checks._fix import (
    beyond_the_run,
    fix_experiment,
    helped,
    hurt,
    improvement,
    relative_drop,
    settled_loss,
)
from lossdoctor.experiments import ReplayResult
from lossdoctor.trace import ValidationPass


def _replay(validation, diverged=False):
    return ReplayResult([0.0] * 10, list(validation), diverged)


def test_a_replay_settles_at_the_mean_of_its_last_three_evaluations():
    assert settled_loss(_replay([9.0, 5.0, 1.0, 2.0, 3.0])) == pytest.approx(2.0)
    assert settled_loss(_replay([0.5])) == pytest.approx(0.5)
    assert settled_loss(_replay([1.0, 0.9, math.inf], diverged=True)) == math.inf
    assert settled_loss(_replay([])) == math.inf


def test_the_fix_helped_when_it_takes_a_tenth_off_where_the_replay_settled():
    before = _replay([2.0, 1.0, 1.0, 1.0])
    enough = fix_experiment("fix", before, _replay([2.0, 0.9, 0.85, 0.8]))
    short = fix_experiment("fix", before, _replay([2.0, 0.92, 0.92, 0.92]))
    assert improvement(enough) == pytest.approx(0.15)
    assert improvement(short) == pytest.approx(0.08)
    assert helped(enough) and not helped(short)
    assert enough.curve_before == [2.0, 1.0, 1.0, 1.0] and enough.steps > 0


def test_a_fix_that_diverges_never_helped_and_one_that_stops_a_divergence_did():
    assert relative_drop(1.0, math.inf) == -1.0
    assert relative_drop(math.inf, math.inf) == -1.0
    assert relative_drop(math.inf, 0.5) == 1.0
    assert relative_drop(math.nan, 0.5) == 1.0
    assert relative_drop(0.0, 0.5) == 0.0


class _KnownConstantGuess:
    def __init__(self, loss):
        self.loss = loss

    def constant_guess_loss(self, split):
        assert split == "validation"
        return self.loss


def test_near_zero_a_fix_must_also_take_a_twentieth_of_the_constant_guess_off():
    """The healthy HF Trainer run: 0.0178 -> 0.0098 is 45% off, 1% of a coin toss's 0.69."""
    tiny = fix_experiment("fix", _replay([0.02, 0.018, 0.018, 0.0178]),
                          _replay([0.02, 0.01, 0.0098, 0.0098]))
    real = fix_experiment("fix", _replay([0.69, 0.6, 0.6, 0.6]), _replay([0.6, 0.4, 0.3, 0.3]))
    coin_toss = _KnownConstantGuess(0.69)
    assert helped(tiny) and not helped(tiny, coin_toss)
    assert helped(real, coin_toss)
    assert helped(tiny, _KnownConstantGuess(None))  # no constant guess: the relative bar alone


def test_a_stopped_divergence_helped_whatever_the_constant_guess():
    stopped = fix_experiment("fix", _replay([1.0, math.inf], diverged=True),
                             _replay([1.0, 0.68, 0.68, 0.68]))
    assert helped(stopped, _KnownConstantGuess(0.69))


def test_a_change_hurt_when_undoing_it_would_clear_the_bar_a_fix_must_clear():
    worse = fix_experiment("train them too", _replay([0.69, 0.6, 0.6, 0.6]),
                           _replay([0.69, 0.8, 0.8, 0.8]))
    slightly = fix_experiment("train them too", _replay([0.69, 0.6, 0.6, 0.6]),
                              _replay([0.69, 0.62, 0.62, 0.62]))
    assert hurt(worse, _KnownConstantGuess(0.69)) and not helped(worse)
    assert not hurt(slightly, _KnownConstantGuess(0.69))
    assert not hurt(fix_experiment("fix", _replay([0.69, 0.8, 0.8]), _replay([0.69, 0.6, 0.6])))


class _Run:
    """A run's own validation passes and constant guess, as a check's case gives them."""

    def __init__(self, passes, guess=None):
        self.trace = self
        self.passes, self.guess = passes, guess

    def validation_passes(self):
        return [ValidationPass(i, i, v, 1, 100) for i, v in enumerate(self.passes)]

    def run_best_validation(self):
        return min(self.passes)

    def constant_guess_loss(self, split):
        return self.guess


def test_a_replay_is_beyond_the_run_when_it_clears_the_fix_bar_and_the_runs_noise():
    """Below the run's own best by a tenth (and a twentieth of the constant guess), and by more
    than three noise widths of its validation curve: a replay that only catches up, or passes
    the run by less, shows no cause the run suffers from."""
    steady = _Run([1.0, 0.8, 0.6, 0.5, 0.45, 0.42, 0.40], guess=1.1)
    assert beyond_the_run(steady, 0.30)
    assert not beyond_the_run(steady, 0.38)  # 5% below the run's 0.40
    assert not beyond_the_run(_Run(steady.passes, guess=4.0), 0.30)  # 0.1 < 4.0 / 20
    noisy = _Run([1.0, 0.5, 0.9, 0.4, 0.8, 0.45, 0.85], guess=1.1)
    assert not beyond_the_run(noisy, 0.30)  # 0.1 below its best, within its swings
    assert not beyond_the_run(steady, math.inf)
    no_passes = _Run([], guess=1.1)
    no_passes.run_best_validation = lambda: 0.40  # the best of the replay of the run's setup
    assert beyond_the_run(no_passes, 0.38) and not beyond_the_run(no_passes, 0.41)
