"""What a loss curve is doing: improving, flat, swinging, blowing up, overfitting, or at chance.

Pure functions of curves given as lists of (x, loss), x an epoch or a step. They run while the
training goes on (on every validation pass) and once at the end, and judge by statistical tests
against the curve's own noise, never by a fixed loss difference:

- an *improvement* is a new best lower than the best so far by more than the one-sided 95%
  quantile of the curve's noise (1.645 sigma; sigma from the spread of successive differences);
- a *trend* is a Mann-Kendall test (Kendall's tau of loss against x) at the 5% level, which needs
  no assumption about the noise's distribution and ignores single outliers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from lossdoctor.losses import CLASSIFICATION, loss_kind

#: Points a curve needs after its last improvement before a plateau is called: with 5 points a
#: Mann-Kendall test can still see a steady decrease (p = 1/120 for a perfectly monotone one).
WINDOW = 5
#: Significance level of every test here.
ALPHA = 0.05
#: One-sided 95% normal quantile: an improvement must beat the noise by this many sigmas.
NOISE_Z = 1.645
#: Below this relative change a noise-free curve is flat too (0.1% of the loss over the window
#: is no progress anyone acts on); it only matters when the curve has no noise at all.
RELATIVE_FLOOR = 1e-3
#: Swings larger than this fraction of the loss, without progress, read as oscillation.
SWING_FRACTION = 0.1

IMPROVING, PLATEAU, OSCILLATING = "improving", "plateau", "oscillating"
DIVERGING, OVERFITTING, AT_CHANCE, TOO_SHORT = "diverging", "overfitting", "at_chance", "too_short"
KINDS = (IMPROVING, PLATEAU, OSCILLATING, DIVERGING, OVERFITTING, AT_CHANCE, TOO_SHORT)

Curve = Sequence[tuple[float, float]]


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
        return CurveVerdict(DIVERGING, f"loss became {bad[1]} at {unit} {_x(bad[0])}", bad[0])
    if len(curve) < 3:
        return CurveVerdict(TOO_SHORT, f"too few {name} points to judge yet ({len(curve)})")
    xs, ys = np.array([x for x, _ in curve], float), np.array([y for _, y in curve], float)
    for rule in (_at_chance, _overfitting, _rising, _oscillating, _plateau):
        verdict = rule(name, xs, ys, train, chance, unit, window)
        if verdict is not None:
            return verdict
    return _improving_or_short(name, xs, ys, unit, window)


# --- the rules, most specific first ------------------------------------------------------


def _at_chance(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    if chance is None or not math.isfinite(chance) or len(ys) < window:
        return None
    recent = ys[-window:]
    margin = max(NOISE_Z * recent_noise(ys) / math.sqrt(window), RELATIVE_FLOOR * abs(chance))
    if recent.mean() < chance - margin:
        return None
    start = plateau_start(xs, ys, window)
    since = xs[start] if start is not None else None  # None: at chance, but still moving
    when = f" since {unit} {_x(since)}" if since is not None else ""
    if recent.mean() > chance + margin:
        how, meaning = "worse than", "always predicting the same answer would do better"
    else:
        how = "no better than"
        meaning = "the model predicts no better than if it ignored its inputs"
    return CurveVerdict(
        AT_CHANCE,
        f"{name} loss {recent[-1]:.4g} {how} a constant guess ({chance:.4g}){when}: {meaning}",
        since,
    )


def _overfitting(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    best = int(np.argmin(ys))
    if name != "validation" or not _rises_after(ys, best):
        return None
    later = [y for x, y in train if x >= xs[best]]
    if len(later) < 3 or not _decreasing(np.array(later)):
        return None
    return CurveVerdict(
        OVERFITTING,
        f"validation loss rising since {unit} {_x(xs[best])} ({ys[best]:.4g} -> {ys[-1]:.4g}) "
        "while training loss still falls",
        xs[best],
    )


def _rising(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    best = int(np.argmin(ys))
    if not _rises_after(ys, best) or ys[-1] - ys[best] <= _threshold(ys):
        return None
    return CurveVerdict(
        DIVERGING,
        f"{name} loss rising since {unit} {_x(xs[best])} ({ys[best]:.4g} -> {ys[-1]:.4g})",
        xs[best],
    )


def _plateau(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    start = plateau_start(xs, ys, window)
    if start is None:
        return None
    return CurveVerdict(
        PLATEAU,
        f"{name} loss flat since {unit} {_x(xs[start])} (best {ys[start:].min():.4g}; no "
        f"improvement beyond the noise of +/-{recent_noise(ys):.2g} in "
        f"{len(ys) - 1 - start} {unit}s)",
        xs[start],
    )


def _oscillating(name, xs, ys, train, chance, unit, window) -> CurveVerdict | None:
    recent = ys[-max(window, 2 * window):]
    if len(recent) < window or _decreasing(recent):
        return None
    swing = float(np.median(np.abs(np.diff(recent))))
    if swing <= SWING_FRACTION * abs(float(np.median(recent))) and not _turns_often(recent):
        return None
    return CurveVerdict(
        OSCILLATING,
        f"{name} loss swinging up and down by about {swing:.3g} with no steady progress",
        xs[-len(recent)],
    )


def _improving_or_short(name, xs, ys, unit, window) -> CurveVerdict:
    if len(ys) < window and ys[-1] >= ys[0] - _threshold(ys):
        return CurveVerdict(TOO_SHORT, f"too few {name} points to judge yet ({len(ys)})")
    best = int(np.argmin(ys))
    return CurveVerdict(
        IMPROVING,
        f"{name} loss improving: {ys[0]:.4g} -> {ys[-1]:.4g} (best {ys[best]:.4g} at {unit} "
        f"{_x(xs[best])})",
    )


# --- the statistics ----------------------------------------------------------------------


def plateau_start(xs, ys, window: int = WINDOW) -> int | None:
    """Index where the curve stopped improving: the first point from which at least ``window``
    points show no significant downward trend (Mann-Kendall), and which is no higher than the
    level after it (their median) by more than the noise of a difference of two points
    (NOISE_Z * sqrt(2) sigma), so the plateau does not start on the way down. None if none."""
    ys = np.asarray(ys, float)
    margin = math.sqrt(2) * _threshold(ys)
    for start in range(len(ys) - window + 1):
        tail = ys[start:]
        if tail[0] <= np.median(tail[1:]) + margin and not _decreasing(tail):
            return start
    return None


def noise(ys) -> float:
    """Robust standard deviation of the curve's noise around its local trend: the scaled
    median absolute deviation of successive differences, divided by sqrt(2)."""
    diffs = np.diff(np.asarray(ys, float))
    if len(diffs) < 2:
        return 0.0
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return 1.4826 * mad / math.sqrt(2)


def recent_noise(ys) -> float:
    """The noise of the curve's later half (at least WINDOW points): where a plateau would be,
    and away from the early drop, whose curvature would pass for noise."""
    ys = np.asarray(ys, float)
    return noise(ys[-max(WINDOW, len(ys) // 2):])


def _threshold(ys) -> float:
    return max(NOISE_Z * recent_noise(ys), RELATIVE_FLOOR * abs(float(np.median(ys))))


def _trend_p(ys, alternative: str) -> float:
    ys = np.asarray(ys, float)
    if len(ys) < 3 or np.ptp(ys) == 0:
        return 1.0
    result = stats.kendalltau(np.arange(len(ys)), ys, alternative=alternative)
    return 1.0 if math.isnan(result.pvalue) else float(result.pvalue)


def _decreasing(ys) -> bool:
    ys = np.asarray(ys, float)
    return _trend_p(ys, "less") < ALPHA and ys[0] - ys[-1] > RELATIVE_FLOOR * abs(ys[0])


def _increasing(ys) -> bool:
    ys = np.asarray(ys, float)
    return _trend_p(ys, "greater") < ALPHA and ys[-1] - ys[0] > RELATIVE_FLOOR * abs(ys[0])


def _rises_after(ys, best: int) -> bool:
    """A significant upward trend after the best point. The best point itself is left out:
    chosen as the minimum, it would make any noise after it look like a rise."""
    after = ys[best + 1:]
    return len(after) >= 3 and _increasing(after)


def _turns_often(ys) -> bool:
    """Turning-point test: more local peaks and troughs than independent noise would give."""
    n = len(ys)
    if n < 6:
        return False
    turns = sum((ys[i] - ys[i - 1]) * (ys[i + 1] - ys[i]) < 0 for i in range(1, n - 1))
    mean, variance = 2 * (n - 2) / 3, (16 * n - 29) / 90
    return stats.norm.sf((turns - mean) / math.sqrt(variance)) < ALPHA


def _x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def judge_trace(trace, chance_loss: float | None = None) -> CurveVerdict:
    """Judge a Trace's curves: validation passes by epoch (by step when several passes share an
    epoch), else the training loss by epoch, else by step."""
    passes = trace.validation_passes()
    epochs = [p.epoch for p in passes]
    by_epoch = all(a < b for a, b in zip(epochs, epochs[1:], strict=False))
    if len(passes) >= 2:
        unit = "epoch" if by_epoch else "step"
        validation = [(p.epoch if by_epoch else p.step, p.loss) for p in passes]
        train = trace.epoch_train_losses() if by_epoch else trace.step_losses()
        verdict = judge(validation, train, chance_loss, unit)
        _add_steps(verdict, passes, by_epoch)
        return verdict
    train = trace.epoch_train_losses()
    if len(train) >= WINDOW:
        return judge((), train, chance_loss, "epoch")
    steps = trace.step_losses()
    return judge((), steps, chance_loss, "step", window=max(WINDOW, len(steps) // 5))


def _add_steps(verdict: CurveVerdict, passes, by_epoch: bool) -> None:
    if verdict.since is None:
        return
    key = (lambda p: p.epoch) if by_epoch else (lambda p: p.step)
    match = next((p for p in passes if key(p) == verdict.since), None)
    if match is not None:
        verdict.since_step, verdict.since_epoch = match.step, match.epoch


def constant_guess_loss(loss_name: str, loss_kwargs: dict, train_targets, validation_targets):
    """A cheap estimate of the best constant prediction's loss on the validation targets, fitted
    on the training targets: the label entropy for cross-entropy, the binary entropy for BCE,
    the variance for MSE, the mean absolute deviation for L1. None for other losses or settings
    that change the loss's scale (a sum reduction, label smoothing)."""
    kind = loss_kind(loss_name)
    if kind is None or loss_kwargs.get("reduction", "mean") != "mean":
        return None
    if loss_kwargs.get("label_smoothing") or train_targets is None or validation_targets is None:
        return None
    train, validation = np.asarray(train_targets), np.asarray(validation_targets)
    if kind.task == CLASSIFICATION and not kind.binary:
        return _label_entropy(train, validation)
    if kind.binary:
        return _binary_entropy(train, validation)
    if kind.squared:
        return float(np.mean((validation - train.mean(axis=0)) ** 2))
    if loss_name in ("L1Loss", "l1_loss"):
        return float(np.mean(np.abs(validation - np.median(train, axis=0))))
    return None


def _label_entropy(train, validation) -> float | None:
    if train.dtype.kind not in "iu" or validation.dtype.kind not in "iu" or train.ndim != 1:
        return None
    if train.min() < 0 or validation.min() < 0:
        return None
    classes = int(max(train.max(), validation.max())) + 1
    counts = np.bincount(train, minlength=classes) + 0.5  # half a count: no class is impossible
    return float(-np.mean(np.log(counts / counts.sum())[validation]))


def _binary_entropy(train, validation) -> float | None:
    train, validation = train.astype(float), validation.astype(float)
    if train.min() < 0 or train.max() > 1:
        return None
    p = np.clip(train.mean(axis=0), 1e-7, 1 - 1e-7)
    return float(-np.mean(validation * np.log(p) + (1 - validation) * np.log(1 - p)))
