"""A curve that beat the constant guess clearly and fell back to it for good (collapse.py), and
the run's reading of it for learning_rate (checks/_collapsed_run.py)."""

import pytest

from lossdoctor.checks._collapsed_run import read_collapse
from lossdoctor.collapse import fell_back

#: bench/projects8's LeNet at SGD 0.1 with momentum 0.9: its validation passes and epochs'
#: training losses, the constant guess ln 10.
LENET_VALIDATION = [2.205, 2.227, 1.692, 2.355, 2.305, 2.301, 2.302, 2.303, 2.303, 2.303]
LENET_TRAINING = [2.291, 2.255, 2.116, 2.353, 2.316, 2.302, 2.302, 2.302, 2.301, 2.301]
LN_10 = 2.3026


def test_a_curve_that_beat_the_guess_and_fell_back_for_good_collapsed():
    collapse = fell_back(LENET_VALIDATION, LN_10)
    assert collapse is not None
    assert (collapse.best, collapse.best_index, collapse.back_from) == (1.692, 2, 3)
    assert collapse.end == pytest.approx(2.303)


@pytest.mark.parametrize("curve", [
    [2.30, 2.05, 2.10, 2.28, 2.30, 2.30],  # 11% below at best: never clearly beat the guess
    [2.2, 1.5, 1.0, 0.8, 0.7, 0.65],  # learns, and keeps it
    [2.2, 1.5, 1.0, 2.3, 2.3, 1.2],  # back at the guess for two passes only, then learns again
    [2.3, 2.3, 2.3, 2.3, 2.3],  # never left the guess
])
def test_curves_that_did_not_collapse(curve):
    assert fell_back(curve, LN_10) is None


def test_a_blow_up_on_the_way_back_does_not_hide_the_fall_in_noise():
    """The dev MLP at SGD 0.8 with momentum (tests/test_learning_rate.py's _momentum_run): a
    spike of 14.5 made the curve's noise 0.26 and hid a fall to a sixth of the guess."""
    collapse = fell_back([0.947, 0.231, 0.115, 14.537, 1.665, 0.74, 0.708, 0.695, 0.704, 0.747],
                         0.6937)
    assert collapse is not None and collapse.best == 0.115
    assert collapse.end == pytest.approx(0.7157, abs=1e-3)


def test_a_collapse_needs_the_training_loss_back_at_its_guess_too():
    """LeNet's run collapsed on both curves; a model that overfits (validation rising to the
    guess and past it while the training loss falls) did not."""
    steps = [v for v in LENET_TRAINING for _ in range(20)]
    assert read_collapse(LENET_VALIDATION, steps, LN_10, LN_10).best == 1.692
    overfitting = [0.9, 0.6, 0.5, 0.7, 2.2, 2.6, 3.0]
    falling = [2.3 * 0.7 ** (i / 20) for i in range(200)]
    assert fell_back(overfitting, LN_10) is not None
    assert read_collapse(overfitting, falling, LN_10, LN_10) is None


def test_the_training_loss_alone_is_not_read():
    """Without validation passes nothing is read (an RNN blown up for want of clipping, dev
    418023, fell back on its training loss alone)."""
    steps = [v for v in LENET_TRAINING[:2] + [0.8, 0.8] + [2.30] * 6 for _ in range(20)]
    assert read_collapse([], steps, None, LN_10) is None
