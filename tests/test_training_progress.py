"""A training loss "no better than a constant guess" is one not significantly below it."""

import math

from lossdoctor.checks._progress import NOISE_Z, TrainingProgress, standard_error


def test_a_loss_a_little_below_the_guess_within_its_noise_is_stuck():
    # The development set's deep tanh stack: 1.0932 against a guess of 1.0959, error 0.006.
    progress = TrainingProgress(start=1.0986, end=1.0932, constant_guess=1.0959, end_error=0.006)
    assert progress.stuck


def test_a_loss_below_the_guess_by_more_than_its_noise_is_progress():
    error = 0.006
    end = 1.0959 - 1.1 * NOISE_Z * error
    assert not TrainingProgress(1.0986, end, 1.0959, end_error=error).stuck


def test_without_noise_any_loss_below_the_guess_is_progress():
    assert not TrainingProgress(1.0986, 1.0932, 1.0959).stuck
    assert TrainingProgress(1.0986, 1.0959, 1.0959).stuck


def test_standard_error_is_the_spread_over_the_root_of_the_count():
    assert standard_error([1.0, 3.0, 1.0, 3.0]) == math.sqrt(4 / 3) / 2
    assert standard_error([2.0]) == 0.0
