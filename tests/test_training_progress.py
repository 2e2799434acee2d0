"""A training loss "no better than a constant guess" is one not significantly below it, or
below it by less than a tenth of it."""

import math

from lossdoctor.checks._progress import (
    NEAR_CHANCE_SHARE,
    NOISE_Z,
    TrainingProgress,
    standard_error,
)


def test_a_loss_a_little_below_the_guess_within_its_noise_is_stuck():
    # The development set's deep tanh stack: 1.0932 against a guess of 1.0959, error 0.006.
    progress = TrainingProgress(start=1.0986, end=1.0932, constant_guess=1.0959, end_error=0.006)
    assert progress.stuck


def test_a_loss_below_the_guess_by_more_than_its_noise_and_a_tenth_is_progress():
    error = 0.006
    end = min(1.0959 - 1.1 * NOISE_Z * error, 0.89 * 1.0959)
    assert not TrainingProgress(1.0986, end, 1.0959, end_error=error).stuck


def test_a_loss_barely_below_the_guess_is_stuck_however_small_its_noise():
    """Less than NEAR_CHANCE_SHARE below the guess, as the symptom's near-chance bar: dev
    30276, a ReLU layer 75% dead from the first step and the loss a fraction of a percent
    below the guess, but beyond its noise, was not stuck and dead_relu stayed silent."""
    guess = 0.6931
    barely = TrainingProgress(0.6931, (1 - NEAR_CHANCE_SHARE / 2) * guess, guess, end_error=1e-4)
    assert barely.stuck
    assert barely.beside_guess == "only 5.0% below"
    assert not TrainingProgress(0.6931, 0.5, guess, end_error=1e-4).stuck


def test_without_noise_a_loss_a_tenth_below_the_guess_is_progress():
    assert not TrainingProgress(1.0986, 0.89 * 1.0959, 1.0959).stuck
    assert TrainingProgress(1.0986, 1.0932, 1.0959).stuck
    assert TrainingProgress(1.0986, 1.0959, 1.0959).stuck
    assert TrainingProgress(1.0986, 1.0959, 1.0959).beside_guess == "no better than"


def test_a_noisy_loss_a_tenth_below_the_guess_is_still_stuck():
    error = 0.12
    assert TrainingProgress(1.0986, 0.85 * 1.0959, 1.0959, end_error=error).stuck


def test_standard_error_is_the_spread_over_the_root_of_the_count():
    assert standard_error([1.0, 3.0, 1.0, 3.0]) == math.sqrt(4 / 3) / 2
    assert standard_error([2.0]) == 0.0


def test_a_loss_a_hair_below_its_guess_is_said_to_be_no_better_than_it():
    assert TrainingProgress(1.0, 0.6929, 0.6931).beside_guess == "no better than"
    assert TrainingProgress(1.0, 0.70, 0.6931).beside_guess == "no better than"
    assert TrainingProgress(1.0, 0.67, 0.6931).beside_guess == "only 3.3% below"


def test_a_loss_far_above_the_guess_is_worse_than_it_not_no_better():
    """example_2_unnormalized: a training loss of 51.6 read "no better than the 0.692 of
    always predicting the same answer", as if the two were about equal."""
    assert TrainingProgress(60.0, 51.6, 0.692).beside_guess == "worse than"
    above = (1 + NEAR_CHANCE_SHARE) * 0.692 + 0.01
    assert TrainingProgress(1.0, above, 0.692).beside_guess == "worse than"
    assert TrainingProgress(1.0, above, 0.692, end_error=1.0).beside_guess == "no better than"
    assert TrainingProgress(1.0, 0.70, 0.6931).beside_guess == "no better than"  # the noise
