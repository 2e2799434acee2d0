"""The user's own model beating the constant guess steadily (checks/_pass_noise.py), which
no_signal reads as labels that depend on the inputs whatever its learners see."""

import pytest

from lossdoctor.checks._pass_noise import beats_constant_steadily, pass_noise

#: bench/fresh24 s11's validation curve (a multimodal HRED left in eval mode), constant 3.40:
#: below the guess at every pass from epoch 3, an overfitting rise after epoch 7.
S11 = [3.921, 3.707, 3.409, 3.189, 3.037, 2.956, 2.906, 2.887, 2.893, 2.916, 2.959, 2.992,
       3.039, 3.091, 3.148, 3.222]


def test_a_curve_steadily_far_below_the_guess_beats_it():
    assert beats_constant_steadily(S11, 3.405)


def test_the_noise_is_read_on_the_wobble_not_on_the_trend():
    assert pass_noise([3.0 - 0.1 * i for i in range(10)]) == pytest.approx(0, abs=1e-9)
    assert pass_noise(S11) < 0.02  # a rise of 0.04 a pass is trend


def test_labels_without_signal_do_not_beat_the_guess():
    # dev 348100 shuffled_labels: above the guess throughout, rising
    rising = [1.062, 1.031, 1.015, 1.02, 1.03, 1.04, 1.05, 1.07, 1.08, 1.1]
    assert not beats_constant_steadily(rising, 0.93)
    # dev 348106: hovering at the guess, a few passes a hair below it on a smooth curve
    hovering = [0.694, 0.693, 0.692, 0.6925, 0.693, 0.6935, 0.692, 0.693, 0.694, 0.6945]
    assert not beats_constant_steadily(hovering, 0.693)


def test_one_lucky_dip_is_not_steady():
    dips = [0.70, 0.69, 0.70, 0.69, 0.50, 0.70, 0.69, 0.70, 0.69, 0.70]
    assert not beats_constant_steadily(dips, 0.693)


def test_a_noisy_curve_must_clear_its_noise():
    noisy = [0.69, 0.45, 0.75, 0.40, 0.80, 0.42, 0.78, 0.44, 0.76, 0.41]
    assert not beats_constant_steadily(noisy, 0.693)


def test_too_few_passes_say_nothing():
    assert pass_noise([3.0, 2.0, 1.0]) is None
    assert not beats_constant_steadily([3.0, 2.0, 1.0], 3.4)
