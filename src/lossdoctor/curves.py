"""What a loss curve is doing: improving, flat, swinging, blowing up, overfitting, or at chance.

Pure functions of curves given as lists of (x, loss), x an epoch or a step. They run while the
training goes on (on every validation pass) and once at the end, and judge by the statistics of
:mod:`lossdoctor.curve_stats` (the same the diagnosis uses), against the curve's own noise,
never by a fixed loss difference. An *improvement* is a new best lower than the best so far by
more than the one-sided 95% quantile of the curve's noise (1.645 sigma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossdoctor.curve_stats import (
    NOISE_WIDTHS,
    RELATIVE_FLOOR,
    Curve,
    falling,
    noise,
    rise_from_best,
    turns_often,
)
from lossdoctor.numbers import written

#: Points a curve needs after its last improvement before a plateau is called: with 5 points a
#: Mann-Kendall test can still see a steady decrease (p = 1/120 for a perfectly monotone one).
WINDOW = 5
#: "Worse than a constant guess" (rather than "no better than") once the loss is above the guess
#: by a twentieth of the guess's loss: the difference checks._fix counts as meaningful; a loss
#: 0.1% above the guess is at it, and "would do better" would overstate it.
CLEARLY_WORSE = 0.05
#: One-sided 95% normal quantile: an improvement must beat the noise by this many sigmas.
NOISE_Z = 1.645
#: Swings larger than this fraction of the loss, without progress, read as oscillation.
SWING_FRACTION = 0.1
#: "No steady progress" while swinging: the window's best stays within this many typical swings
#: (median point-to-point moves) of its first point. Independent noise of width s moves by a
#: median 0.95 s from point to point and spans about 3.1 s over ten points: about 3.3 swings.
#: A curve whose best fell by more has made progress, however it wobbled on the way.
PROGRESS_SWINGS = 4.0
#: The last point "jumped" when it is at least this multiple of the best loss (and above the
#: points before it by more than their noise): a loss that doubles in one pass has not drifted.
JUMP_FACTOR = 2.0

IMPROVING, PLATEAU, OSCILLATING = "improving", "plateau", "oscillating"
DIVERGING, OVERFITTING, AT_CHANCE, TOO_SHORT = "diverging", "overfitting", "at_chance", "too_short"
JUMPED = "jumped"
KINDS = (IMPROVING, PLATEAU, OSCILLATING, DIVERGING, OVERFITTING, AT_CHANCE, TOO_SHORT, JUMPED)


@dataclass
class CurveVerdict:
    """What the curve is doing, since when, in plain words."""

    kind: str  # one of KINDS
    message: str
    since: float | None = None  # x (epoch or step) where the current behaviour began
    unit: str = "epoch"
    since_step: int | None = None
    since_epoch: int | None = None
    chance_loss: float | None = None
    stopped_early: bool = False
    stopped_at_step: int | None = None
    stopped_at_epoch: int | None = None
    curve: str = "validation"  # which curve was judged: "validation" or "training"
    flagged_at_epoch: int | None = None  # when a live watch first confirmed the plateau

    @property
    def is_plateau(self) -> bool:
        """Flat, whether or not it is flat at the level of a constant guess."""
        return self.kind in (PLATEAU, AT_CHANCE) and self.since is not None

    def as_dict(self) -> dict:
        return {
            "verdict": self.kind,
            "message": self.message,
            "since_step": self.since_step,
            "since_epoch": self.since_epoch,
            "chance_loss": self.chance_loss,
            "stopped_early": self.stopped_early,
            "stopped_at_step": self.stopped_at_step,
            "stopped_at_epoch": self.stopped_at_epoch,
            "flagged_at_epoch": self.flagged_at_epoch,
        }


def judge(
    validation: Curve,
    train: Curve = (),
    chance_loss: float | None = None,
    unit: str = "epoch",
    window: int = WINDOW,
) -> CurveVerdict:
    """Judge the validation curve (the training curve when there is no validation), using the
    training curve to tell overfitting from divergence. ``chance_loss``: the loss of the best
    constant prediction, e.g. the label entropy for cross-entropy."""
    name, curve = ("validation", list(validation)) if len(validation) >= 2 else (
        "training", list(train))
    verdict = _judge(name, curve, list(train), chance_loss, unit, window)
    verdict.unit, verdict.chance_loss, verdict.curve = unit, chance_loss, name
    if verdict.since is not None:
        setattr(verdict, f"since_{unit}", int(verdict.since))
    return verdict


def _judge(name, curve, train, chance, unit, window) -> CurveVerdict:
    bad = next(((x, y) for x, y in curve + train if not math.isfinite(y)), None)
    if bad is not None:
        what = "NaN" if math.isnan(bad[1]) else "infinite"  # as the report writes it, not 'nan'
        return CurveVerdict(DIVERGING, f"loss became {what} at {unit} {_x(bad[0])}", bad[0])
    if len(curve) < 3:
        return CurveVerdict(TOO_SHORT, _too_few(name, len(curve)))
    xs, ys = np.array([x for x, _ in curve], float), np.array([y for _, y in curve], float)
    for rule in (_overfitting, _rising, _at_chance, _jumped, _oscillating, _plateau):
        verdict = rule(name, xs, ys, train, chance, unit, window)
        if verdict is not None:
            return verdict
    return _improving_or_short(name, xs, ys, unit, window)


# --- the rules, most specific first ------------------------------------------------------
# A clear rise from the best point comes first: the diagnosis judges overfitting by the same
# rule, and a rising curve is neither flat nor at chance, however close to chance it runs.


def _at_chance(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    if chance is None or not math.isfinite(chance) or len(ys) < window:
        return None
    recent = ys[-window:]
    margin = max(NOISE_Z * recent_noise(ys) / math.sqrt(window), RELATIVE_FLOOR * abs(chance))
    if recent.mean() < chance - margin:
        return None
    clearly = max(margin, CLEARLY_WORSE * abs(chance))
    # "would do better" is about the model as it ended: not said of a last point below the guess
    worse = recent.mean() > chance + clearly and recent[-1] >= chance
    if recent.min() < chance - clearly <= recent[-1]:  # it beat the guess, and lost it
        since, tail = None, _after_best(xs, ys, unit)
    else:
        start = plateau_start(xs, ys, window)
        if start is None and _ended_below_guess(ys, chance):
            return None  # still falling, and already past the guess: judged by where it ended
        since = xs[start] if start is not None else None  # None: at chance, but still moving
        tail = _since_or_falling(since, recent, unit)
    if worse:
        how, meaning = "worse than", "always predicting the same answer would do better"
    else:
        how = "no better than"
        meaning = "the model predicts no better than if it ignored its inputs"
    return CurveVerdict(
        AT_CHANCE,
        f"{name} loss {_level(recent, chance if worse else chance - margin, unit)} "
        f"{how} a constant guess ({loss_words(chance)}){tail}: "
        f"{meaning}",
        since,
    )


def _ended_below_guess(ys, chance: float) -> bool:
    """The last point below the guess by more than one point's noise (NOISE_Z sigma): a curve
    still falling has beaten the guess, whatever its window's mean says. The mean lags a
    falling curve: unnormalized_cnn_raw_pixels fell 1.47, 1.42, 1.35, 1.31 against a guess of
    1.391 and read "averaging 1.452 over the last 5 epochs, no better than a constant guess"
    beside "best 1.31"."""
    bar = max(NOISE_Z * recent_noise(ys), RELATIVE_FLOOR * abs(chance))
    return bool(ys[-1] < chance - bar)


def _level(recent, bar: float, unit: str) -> str:
    """The loss the verdict is about: its last value when that alone clears ``bar``, else the
    mean of the window it was judged on (a last point below the constant guess must not be
    called worse than it)."""
    if recent[-1] >= bar:  # "46, worse than": "46 worse than" read as 46 above the guess
        return f"{loss_words(recent[-1])},"
    return f"averaging {loss_words(recent.mean())} over the last {len(recent)} {unit}s,"


def _since_or_falling(since, recent, unit: str) -> str:
    if since is not None:
        # "beyond the noise": a later best within it ("best 4.09 at epoch 9" in the same
        # report) does not contradict a plateau dated to epoch 4
        return f", not improving beyond the noise since {unit} {_x(since)}"
    return ", though still falling" if recent[-1] < recent[0] else ""


def _after_best(xs, ys, unit: str) -> str:
    """Where the curve was at its best; "up from" it when the loss has since grown JUMP_FACTOR
    times or more (a rise too short for a trend test is still no plateau)."""
    best = int(np.argmin(ys))
    how = "up from" if ys[-1] >= JUMP_FACTOR * ys[best] > 0 else "after reaching"
    return f", {how} {loss_words(ys[best])} at {unit} {_x(xs[best])}"


def _overfitting(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    """A clear rise while the training loss falls: overfitting when it gives back enough of
    what the model learned (Rise.gives_back), else said as a level kept (_kept_most)."""
    rise = rise_from_best(list(zip(xs, ys, strict=True)), train, _guess(chance))
    if name != "validation" or rise is None or not (rise.clear and rise.training_falls):
        return None
    if not rise.gives_back:
        return _kept_most(rise, ys[-1], chance, unit)
    return CurveVerdict(
        OVERFITTING,
        f"validation loss rising since {unit} {_x(rise.best_x)} ({loss_words(rise.best_loss)} -> "
        f"{loss_words(ys[-1])}) while training loss still falls",
        rise.best_x,
    )


def _rising(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    rise = rise_from_best(list(zip(xs, ys, strict=True)), train, _guess(chance))
    if rise is None or not rise.clear or rise.training_falls:
        return None  # a rise while the training loss falls is overfitting's to judge
    return CurveVerdict(
        DIVERGING,
        f"{name} loss rising since {unit} {_x(rise.best_x)} ({loss_words(rise.best_loss)} -> "
        f"{loss_words(ys[-1])})",
        rise.best_x,
    )


def _kept_most(rise, last: float, chance: float, unit: str) -> CurveVerdict:
    """A rise that gives back less than GIVEN_BACK_SHARE of what the model learned: levelled at
    its best, where early stopping serves. Neither overfitting to act on nor "flat" (the curve
    climbs); said as it is. (gives_back is true without a guess, so ``chance`` is one here.)"""
    kept = (chance - last) / (chance - rise.best_loss)
    return CurveVerdict(
        PLATEAU,
        f"validation loss lowest at {unit} {_x(rise.best_x)} ({loss_words(rise.best_loss)}), "
        f"higher since ({loss_words(last)}) while training loss falls: it keeps "
        f"{kept:.0%} of its gain over a constant guess ({loss_words(chance)}); the weights "
        f"of {unit} {_x(rise.best_x)} are the ones to keep",
        rise.best_x,
    )


def _guess(chance: float | None) -> float | None:
    """The constant guess a rise is measured against (curve_stats.GIVEN_BACK_SHARE)."""
    return chance if chance is not None and math.isfinite(chance) else None


def _plateau(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    start = plateau_start(xs, ys, window)
    if start is None:
        return None
    spread, span = recent_noise(ys), f"{len(ys) - 1 - start} {unit}s"
    steady = (f"no improvement beyond the noise of +/-{spread:.2g} in {span}" if spread > 0
              else f"unchanged for {span}")
    return CurveVerdict(
        PLATEAU,
        f"{name} loss flat since {unit} {_x(xs[start])} (best "
        f"{loss_words(ys[start:].min())}; {steady})",
        xs[start],
    )


def _jumped(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    """The last point far above the best and above the points before it by more than their
    noise: one pass, too few for a trend test (rise_from_best), too large to call noise."""
    before = ys[:-1]
    best = int(np.argmin(before))
    if len(before) < 2 or before[best] <= 0 or ys[-1] < JUMP_FACTOR * before[best]:
        return None  # a multiple of a loss at or below zero says nothing
    if ys[-1] <= before[-window:].max() + NOISE_WIDTHS * noise(before):
        return None
    return CurveVerdict(
        JUMPED,
        f"{name} loss jumped to {ys[-1]:.3g} at the last {unit} ({unit} {_x(xs[-1])}), "
        f"{ys[-1] / before[best]:.3g} times its best ({before[best]:.3g} at {unit} "
        f"{_x(xs[best])}){_beside_guess(ys[-1], chance)}: one point, too few to tell a spike "
        f"from a blow-up",
        xs[-1],
    )


def _beside_guess(last: float, chance: float | None) -> str:
    """A jump in proportion: "20.9 times its best" of a loss at 0.034 (a twentieth of the
    guess's 0.693, train_eval_mode_transformer_no_eval) read as a blow-up of a model that
    still predicts well."""
    if chance is None or not math.isfinite(chance) or last >= chance:
        return ""
    return f", still below the {chance:.3g} of a constant guess"


def _oscillating(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    recent = ys[-max(window, 2 * window):]
    if len(recent) < window or falling(recent):
        return None
    swing = float(np.median(np.abs(np.diff(recent))))
    if swing <= SWING_FRACTION * abs(float(np.median(recent))) and not turns_often(recent):
        return None
    if recent[0] - recent.min() > PROGRESS_SWINGS * swing:  # it fell, wobbling on the way
        return None
    return CurveVerdict(
        OSCILLATING,
        f"{name} loss swinging up and down by about {swing:.3g} with no steady progress",
        xs[-len(recent)],
    )


def _too_few(name: str, points: int) -> str:
    return f"only {points} {name} point{'s' * (points != 1)}: too few to judge the curve's shape"


def _improving_or_short(name, xs, ys, unit, window) -> CurveVerdict:
    if len(ys) < window and ys[-1] >= ys[0] - _threshold(ys):
        return CurveVerdict(TOO_SHORT, _too_few(name, len(ys)))
    best = int(np.argmin(ys))
    return CurveVerdict(
        IMPROVING,
        f"{name} loss improving: {loss_words(ys[0])} -> {loss_words(ys[-1])} (best "
        f"{loss_words(ys[best])} at {unit} {_x(xs[best])})",
    )


# --- where a plateau starts --------------------------------------------------------------


def plateau_start(xs, ys, window: int = WINDOW) -> int | None:
    """Index where the curve stopped improving: the first point from which at least ``window``
    points show no significant downward trend (Mann-Kendall), and which is no higher than the
    level after it (their median) by more than the noise of a difference of two points
    (NOISE_Z * sqrt(2) sigma), so the plateau does not start on the way down, nor at a low
    point the loss has since doubled from (it rose, then stayed). None if none."""
    ys = np.asarray(ys, float)
    margin = two_point_margin(ys)
    for start in range(len(ys) - window + 1):
        tail = ys[start:]
        level = np.median(tail[1:])
        rose = level >= JUMP_FACTOR * tail[0] > 0  # a low point the loss left: no plateau yet
        if tail[0] <= level + margin and not rose and not falling(tail):
            return start
    return None


def two_point_margin(ys) -> float:
    """How far apart two points of the curve may be by noise alone (NOISE_Z * sqrt(2) sigma)."""
    return math.sqrt(2) * _threshold(np.asarray(ys, float))


def turning_up(ys, window: int = WINDOW) -> bool:
    """The last point is the highest of the last ``window`` and above their lowest by more than
    two points differ by noise: the curve may be starting to rise (example_1's validation loss
    at epoch 7: 0.7007 at epoch 4, then 0.7010, 0.7019, 0.7032), which a flat reading of those
    points would call 'flat' one pass before the rise is clear. A flat curve ends at its highest
    point of ``window`` one time in ``window``, so waiting one more pass costs little."""
    recent = np.asarray(ys, float)[-window:]
    if len(recent) < window:
        return False
    return bool(recent[-1] >= recent.max() and recent[-1] - recent.min() > two_point_margin(ys))


def recent_noise(ys) -> float:
    """The noise of the curve's later half (at least WINDOW points): where a plateau would be,
    and away from the early drop, whose curvature would pass for noise."""
    ys = np.asarray(ys, float)
    return noise(ys[-max(WINDOW, len(ys) // 2):])


def _threshold(ys) -> float:
    return max(NOISE_Z * recent_noise(ys), RELATIVE_FLOOR * abs(float(np.median(ys))))


def loss_words(loss: float) -> str:
    """A loss in a curve's sentence: four significant digits (0.6916, 4.636), whole with commas
    from 1,000 up to a million, as the summary and the causes write them (unscaled_targets_cnn_
    brightness: 'Validation loss 885,511 -> 495,504' above 'Validation loss 4.955e+05')."""
    return written(loss, digits=4, whole_from=1000)


def _x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def judge_trace(trace, chance_loss: float | None = None) -> CurveVerdict:
    """Judge a Trace's curves: validation passes by epoch (by step when several passes share an
    epoch), else the training loss by epoch, else by step."""
    passes = trace.validation_passes()
    if len(passes) >= 2:
        validation, train, unit = validation_curves(trace)
        verdict = judge(validation, train, chance_loss, unit)
        _add_steps(verdict, passes, unit == "epoch")
        return verdict
    train = trace.epoch_train_losses()
    if len(train) >= WINDOW:
        return judge((), train, chance_loss, "epoch")
    steps = trace.step_losses()
    return judge((), steps, chance_loss, "step", window=max(WINDOW, len(steps) // 5))


def validation_curves(trace) -> tuple[list, list, str]:
    """The validation passes as a curve by epoch (by step when several passes share an epoch),
    the training curve on the same x, and the unit: what the live line and the diagnosis both
    judge."""
    passes = trace.validation_passes()
    epochs = [p.epoch for p in passes]
    if all(a < b for a, b in zip(epochs, epochs[1:], strict=False)):
        return [(p.epoch, p.loss) for p in passes], trace.epoch_train_losses(), "epoch"
    return [(p.step, p.loss) for p in passes], trace.step_losses(), "step"


def _add_steps(verdict: CurveVerdict, passes, by_epoch: bool) -> None:
    if verdict.since is None:
        return
    key = (lambda p: p.epoch) if by_epoch else (lambda p: p.step)
    match = next((p for p in passes if key(p) == verdict.since), None)
    if match is not None:
        verdict.since_step, verdict.since_epoch = match.step, match.epoch
