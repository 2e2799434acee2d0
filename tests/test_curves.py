"""Curve verdicts: on scripted curves (no training), then on real short runs."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor import curves
from lossdoctor.curve_stats import noise, rise_from_best
from lossdoctor.curves import judge, judge_trace, plateau_start


def _curve(values, start=0):
    return list(enumerate(values, start=start))


def _noisy(values, scale, seed=0):
    rng = np.random.default_rng(seed)
    return list(np.asarray(values, float) + rng.normal(0, scale, len(values)))


def _decaying(epochs, floor=0.2, seed=0, noise=0.005):
    return _noisy([floor + math.exp(-0.3 * e) for e in range(epochs)], noise, seed)


@pytest.mark.parametrize("seed", range(5))
def test_a_healthy_decreasing_curve_is_improving(seed):
    validation = _decaying(12, seed=seed)
    train = _decaying(12, floor=0.1, seed=seed + 100)
    verdict = judge(_curve(validation), _curve(train))
    assert verdict.kind == curves.IMPROVING, verdict.message
    assert verdict.since_epoch is None


def test_a_curve_that_drops_then_stays_flat_is_a_plateau_from_where_it_stopped():
    drop = [2.0, 1.4, 1.0, 0.8, 0.7]
    flat = _noisy([0.7] * 10, 0.01, seed=1)
    verdict = judge(_curve(drop + flat))
    assert verdict.kind == curves.PLATEAU
    assert 3 <= verdict.since_epoch <= 5
    assert f"flat since epoch {verdict.since_epoch}" in verdict.message
    assert verdict.message.startswith("validation loss")


def test_a_plateau_needs_a_full_window_after_the_last_improvement():
    drop = [2.0, 1.4, 1.0, 0.8, 0.7]
    values = drop + [0.7, 0.701, 0.699]
    assert plateau_start(range(len(values)), values) is None
    assert judge(_curve(values)).kind != curves.PLATEAU
    values += [0.7, 0.7005]
    assert plateau_start(range(len(values)), values) == 4


def test_the_plateau_start_moves_with_the_curve_not_with_a_fixed_epsilon():
    """Scale the same curve by 1000: its noise scales too, and the verdict is the same."""
    values = [2.0, 1.4, 1.0, 0.8, 0.7] + _noisy([0.7] * 8, 0.01, seed=2)
    small = judge(_curve(values))
    large = judge(_curve([v * 1000 for v in values]))
    assert (small.kind, small.since_epoch) == (large.kind, large.since_epoch)


def test_a_slow_but_steady_decrease_under_noise_is_not_a_plateau():
    values = _noisy([1.0 - 0.01 * e for e in range(30)], 0.004, seed=3)
    assert judge(_curve(values)).kind == curves.IMPROVING


def test_nan_or_inf_is_divergence_at_the_first_bad_point():
    verdict = judge(_curve([1.0, 0.9, 0.95, float("nan"), float("nan")]))
    assert verdict.kind == curves.DIVERGING and verdict.since_epoch == 3
    train_inf = judge(_curve([1.0, 0.9, 0.8]), _curve([1.0, float("inf")]))
    assert train_inf.kind == curves.DIVERGING and train_inf.since_epoch == 1


def test_a_rising_loss_is_divergence_from_its_best():
    values = [1.0, 0.8, 0.7, 0.9, 1.3, 1.9, 2.8, 4.0]
    verdict = judge(_curve(values), _curve(values))
    assert verdict.kind == curves.DIVERGING
    assert verdict.since_epoch == 2
    assert "rising since epoch 2" in verdict.message


def test_validation_rising_while_training_falls_is_overfitting():
    validation = [1.0, 0.8, 0.7, 0.65, 0.7, 0.78, 0.85, 0.95, 1.05]
    train = [1.0, 0.7, 0.5, 0.35, 0.25, 0.17, 0.11, 0.07, 0.04]
    verdict = judge(_curve(validation), _curve(train))
    assert verdict.kind == curves.OVERFITTING
    assert verdict.since_epoch == 3
    assert judge(_curve(validation), _curve(validation)).kind == curves.DIVERGING


@pytest.mark.parametrize("guess, kind", [(3.0, curves.PLATEAU), (1.2, curves.OVERFITTING)])
def test_a_rise_is_overfitting_only_when_it_gives_back_half_of_what_was_learned(guess, kind):
    """The same rise, 0.65 -> 1.05, gives back 17% of the way from a guess of 3.0 and 73% from
    1.2 (curve_stats.GIVEN_BACK_SHARE). Kept, it is said as it is: never "flat"."""
    validation = [1.0, 0.8, 0.7, 0.65, 0.7, 0.78, 0.85, 0.95, 1.05]
    train = [1.0, 0.7, 0.5, 0.35, 0.25, 0.17, 0.11, 0.07, 0.04]
    verdict = judge(_curve(validation), _curve(train), chance_loss=guess)
    assert verdict.kind == kind and verdict.since_epoch == 3
    assert "flat" not in verdict.message
    assert ("keeps 83% of its gain" in verdict.message) is (kind == curves.PLATEAU)


def test_a_loss_swinging_widely_without_progress_is_oscillating():
    values = [1.0, 1.6, 0.9, 1.7, 1.0, 1.5, 0.8, 1.6, 1.0, 1.7]
    assert judge(_curve(values)).kind == curves.OSCILLATING


def test_a_validation_loss_at_the_constant_guess_is_at_chance():
    chance = math.log(2)
    values = [0.72, 0.70] + _noisy([chance] * 8, 0.003, seed=4)
    verdict = judge(_curve(values), chance_loss=chance)
    assert verdict.kind == curves.AT_CHANCE
    assert verdict.is_plateau and verdict.chance_loss == chance
    below = judge(_curve([v - 0.3 for v in values]), chance_loss=chance)
    assert below.kind == curves.PLATEAU
    falling = judge(_curve([0.9 - 0.02 * e for e in range(8)]), chance_loss=0.5)
    assert falling.kind == curves.AT_CHANCE and not falling.is_plateau  # not flat: no alarm


def test_the_constant_guess_line_names_the_loss_it_judged_and_says_worse_only_when_clearly():
    chance = 1.391
    # it beat the guess and fell back to just below it, within a point's noise: the window's mean
    # is the level, and "worse" is not said of a last point below the guess
    back = judge(_curve([1.879, 1.704, 1.471, 1.422, 1.351, 1.375]), chance_loss=chance)
    assert back.kind == curves.AT_CHANCE, back.message
    assert "validation loss 1.375, no better than a constant guess" in back.message
    assert "worse" not in back.message
    hair_above = judge(_curve([0.72, 0.70] + [0.6961, 0.6960, 0.6962] * 3), chance_loss=0.6932)
    assert "no better than a constant guess" in hair_above.message
    far_above = judge(_curve([9.0, 6.0] + [4.6, 4.7, 4.5] * 3), chance_loss=0.69)
    # "4.5, worse than": "Validation loss 46 worse than a constant guess (0.7028)" read as 46
    # above it (example_2_unnormalized)
    assert "4.5, worse than a constant guess (0.69), not improving beyond the noise since " \
        "epoch" in far_above.message


def test_a_falling_loss_that_got_below_the_guess_is_not_called_no_better_than_it():
    """unnormalized_cnn_raw_pixels: 'averaging 1.452 over the last 5 epochs, no better than a
    constant guess (1.391)' beside 'best 1.31': the window's mean lags a falling curve, whose
    last point had beaten the guess by more than its noise."""
    chance = 1.391
    values = [1.879, 1.704, 1.471, 1.422, 1.351, 1.310]
    verdict = judge(_curve(values), chance_loss=chance)
    assert verdict.kind == curves.IMPROVING, verdict.message
    # the twin still above the guess at its last point is at chance, though still falling
    above = judge(_curve([v + 0.12 for v in values]), chance_loss=chance)
    assert above.kind == curves.AT_CHANCE and "still falling" in above.message
    # the same end, noisy enough that one point below the guess proves nothing: at chance
    noisy = judge(_curve([1.879, 1.30, 1.60, 1.35, 1.55, 1.31]), chance_loss=chance)
    assert noisy.kind != curves.IMPROVING, noisy.message


def test_too_few_points_are_not_judged():
    assert judge(_curve([1.0, 0.9])).kind == curves.TOO_SHORT
    assert judge(_curve([1.0, 1.01, 0.99])).kind == curves.TOO_SHORT


def test_the_training_curve_is_judged_when_there_is_no_validation():
    verdict = judge((), _curve([2.0, 1.4, 1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7]))
    assert verdict.kind == curves.PLATEAU and verdict.curve == "training"
    assert verdict.message.startswith("training loss flat since epoch")


def test_the_noise_estimate_ignores_a_steady_trend():
    assert noise([0.1 * e for e in range(20)]) == pytest.approx(0.0, abs=1e-9)
    generator = torch.Generator().manual_seed(0)
    noisy = [0.1 * e + float(n) for e, n in enumerate(0.05 * torch.randn(400, generator=generator))]
    assert noise(noisy) == pytest.approx(0.05, rel=0.2)


# --- real short runs ----------------------------------------------------------------------


def _blobs(rows, seed, labels="rule"):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    if labels == "noisy":  # a quarter flipped: a linear model soon learns all there is
        y = torch.where(torch.rand(rows, generator=generator) < 0.25, 1 - y, y)
    if labels == "random":
        y = torch.randint(0, 2, (rows,), generator=generator)
    return x, y


def _run(labels="rule", lr=3e-3, epochs=10, train_rows=400, hidden=16):
    torch.manual_seed(0)
    model = mlp(8, hidden, 2) if hidden else nn.Linear(8, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), _blobs(train_rows, 1, labels),
                  _blobs(300, 2, labels), epochs=epochs, batch_size=20)


def test_a_real_healthy_run_is_improving():
    verdict = judge_trace(_run(epochs=8, lr=1e-3).trace)
    assert verdict.kind == curves.IMPROVING, verdict.message


def test_a_real_run_that_converged_is_a_plateau_with_its_start_step():
    case = _run(labels="noisy", epochs=25, lr=3e-2, train_rows=1000, hidden=0)
    verdict = judge_trace(case.trace)
    assert verdict.kind == curves.PLATEAU, verdict.message
    assert verdict.since_step == case.trace.validation_passes()[verdict.since_epoch].step


def test_a_real_run_on_random_labels_is_at_chance():
    case = _run(labels="random", epochs=10, lr=1e-3)
    chance = case.constant_guess_loss("validation")
    verdict = judge_trace(case.trace, chance)
    assert verdict.kind == curves.AT_CHANCE, verdict.message


def test_a_real_run_memorizing_random_labels_with_a_wide_model_is_overfitting():
    case = _run(labels="random", epochs=30, lr=1e-2, train_rows=100, hidden=256)
    assert judge_trace(case.trace).kind == curves.OVERFITTING


def test_a_real_run_with_a_far_too_high_learning_rate_diverges_or_oscillates():
    torch.manual_seed(0)
    model = mlp(8, 16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
    x, _ = _blobs(400, 1)
    y = (x[:, :1] * 3).clone()
    case = record(fit, model, optimizer, nn.MSELoss(), (x, y), (x[:100], y[:100]), epochs=8)
    assert judge_trace(case.trace).kind in (curves.DIVERGING, curves.OSCILLATING)


def test_a_loss_that_stopped_moving_entirely_is_not_said_to_be_within_a_noise_of_0():
    verdict = judge(_curve([0.70, 0.69] + [0.688] * 7))
    assert verdict.kind == curves.PLATEAU
    assert "+/-0 " not in verdict.message and "unchanged for 6 epochs)" in verdict.message


def test_a_curve_that_fell_thirtyfold_is_not_swinging_and_its_last_jump_is_named():
    """train_eval_mode_transformer_no_eval: the median move of a curve falling from 0.056 to
    0.0016 is large beside its median level, yet it made progress; its last pass jumped."""
    values = [0.0565, 0.0088, 0.0052, 0.0027, 0.0034, 0.0022, 0.0016, 0.0343]
    verdict = judge(_curve(values), chance_loss=math.log(2))
    assert verdict.kind == curves.JUMPED, verdict.message
    assert "jumped to 0.0343 at the last epoch (epoch 7)" in verdict.message
    assert "0.0016 at epoch 6), still below the 0.693 of a constant guess:" in verdict.message
    assert judge(_curve(values[:-1])).kind != curves.OSCILLATING
    below_zero = judge(_curve([-1.0, -1.1, -1.2, -1.15, -1.2, 0.5]))  # "-0.4 times its best"
    assert below_zero.kind != curves.JUMPED, below_zero.message


def test_a_loss_that_beat_the_guess_then_rose_above_it_is_not_unimproved_since_the_start():
    """train_val_shift_cnn_exposure: 0.674, 0.842, 0.169, 0.929, 3.29 against a guess of
    0.694 was 'not improving beyond the noise since epoch 0'."""
    verdict = judge(_curve([0.674, 0.842, 0.169, 0.929, 3.29]), chance_loss=0.6939)
    assert verdict.kind == curves.AT_CHANCE and verdict.since is None
    assert "since epoch 0" not in verdict.message
    assert "up from 0.169 at epoch 2" in verdict.message


def test_a_validation_loss_rising_a_hundredfold_in_five_passes_is_not_called_unimproved():
    """Five points: too few for the trend test of a rise, and the at-chance line said 'not
    improving beyond the noise since epoch 0' of a loss that grew a hundredfold."""
    verdict = judge(_curve([0.03, 0.1, 0.5, 1.5, 3.0]), chance_loss=0.6931)
    assert "not improving" not in verdict.message and "since epoch 0" not in verdict.message
    assert "up from 0.03 at epoch 0" in verdict.message and "worse than" in verdict.message


def test_a_loss_that_rose_a_hundredfold_and_stayed_is_not_flat_since_its_low_point():
    values = [0.01] + _noisy([1.0] * 7, 0.02, seed=5)
    verdict = judge(_curve(values))
    assert "since epoch 0" not in verdict.message, verdict.message
    assert verdict.since_epoch != 0


def test_a_step_to_a_frozen_validation_loss_beside_a_pinned_training_loss_is_no_rise():
    """example_2_unnormalized (a saturated sigmoid): validation 47.58, then exactly 50.0 for 99
    epochs, training 51.005 -> 51.000: Kendall's test on the ties called it a steady rise, and
    a 0.01% training fall 'still falls', so it read 'memorizing the training rows'."""
    validation = [47.576] + [50.0] * 99
    train = [51.0048, 50.5735, 51.0, 51.0035, 51.0, 51.0, 51.001] + [51.0] * 93
    verdict = judge(_curve(validation), _curve(train), chance_loss=0.694)
    assert verdict.kind not in (curves.OVERFITTING, curves.DIVERGING), verdict.message
    assert "rising" not in verdict.message and "still falls" not in verdict.message
    rise = rise_from_best(_curve(validation), _curve(train))
    assert not rise.clear and not rise.overfitting
    pinned_train = [51.0 - 1e-5 * e for e in range(100)]  # steady, but moves nothing
    rising = [1.0 + 0.01 * e for e in range(100)]
    assert not rise_from_best(_curve(rising), _curve(pinned_train)).overfitting
    assert rise_from_best(_curve(rising), _curve([2.0 - 0.01 * e for e in range(100)])).overfitting
