"""Statistics of loss curves, one of each, for the live status line (:mod:`lossdoctor.curves`)
and the final diagnosis (:mod:`lossdoctor.checks.overfitting`, :mod:`.batch_size`) alike, so
that the two cannot disagree about what a curve does.

A curve is a list of (x, loss) points, x an epoch or a step. Curves are judged by tests against
their own noise, never by a fixed loss difference:

- *noise*: the robust spread of the curve's second differences, which neither a steady trend
  nor a bend in the curve inflates;
- *trend*: a one-sided Mann-Kendall test (Kendall's tau of the loss against its order) at
  ALPHA, which assumes nothing of the noise's distribution and shrugs off single outliers;
- *rise*: the validation loss from its best point on rises by the trend test, by more than
  the noise and by enough to act on, and stays up: it has not come back down from its highest
  point by more than the noise (a bump that a schedule or a noisy stretch put in a curve that
  is learning again is no rise). With the training loss still falling it is overfitting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Curve = Sequence[tuple[float, float]]

#: Significance level of every test here.
ALPHA = 0.05
#: Below this relative change a noise-free curve has not moved either (0.1% of the loss is no
#: change anyone acts on); it only matters when the curve has no noise at all.
RELATIVE_FLOOR = 1e-3
#: Points a rise needs: the best one and four after it. With five, a perfectly rising sequence
#: has a one-sided Kendall p of 1/120; with fewer, no test can be convincing.
MIN_TAIL = 5
#: Points a curve needs before a rise is looked for at all: a minimum and a trend after it.
MIN_POINTS = MIN_TAIL + 1
#: The best loss is the minimum of noisy values, itself about two noise widths below the
#: curve's level: a rise must clear that and one more to stand out of the noise.
NOISE_WIDTHS = 3.0
#: A rise smaller than this share of the best loss is real but not worth acting on: stopping at
#: any late point would lose less than that.
PRACTICAL_RISE = 0.05
#: Last points averaged for where a curve ended up.
END_WINDOW = 3
#: With a constant guess to measure learning from, a rise while the training loss falls is
#: overfitting worth acting on only when it gives back at least this share of what the model
#: had learned at its best point (the way from the guess's loss down to the best loss).
#: Measured on the 487 stored dev runs of sessions 10-13 with six or more validation passes
#: (their *.full.json curves): the 7 fixed twins whose rise was called overfitting (20205,
#: 20406, 21007, 21115, 30020, 31003, 33005: late rises of 11-38% of the best loss, 3-9 noise
#: widths) gave back 3-29% of their progress; the broken tiny_train_set and
#: debug_subset_left_in runs with a rise gave back 69% (22018) to several times it (their
#: validation loss ending above the guess). Half lies between the two: a run that keeps more
#: than half of what it learned is one early stopping serves, not a fault.
GIVEN_BACK_SHARE = 0.5
#: ... or at least this share when the rise is still going at the end (``end_rising``: its
#: last MIN_TAIL points rise by the trend test): what it has given back so far is only where
#: the run was stopped, and more passes would give back more. Measured on the printed curves
#: of generated dev runs (docs/devset.md, session 20: tiny_train_set, debug_subset_left_in and
#: a natural draw, seeds 300000-300419): of the runs with a clear rise while the training
#: loss fell, still rising at the end and giving back less than half, the one fixed twin
#: (300323's) gave back 0.18; the broken overfitting runs 0.21, 0.21 and 0.29 (300400, 300102,
#: 300100), and fresh17 s16, called healthy, 0.38 (its last three passes' mean; 0.49 by its
#: last pass). A quarter sits above the twin, below 300100 and s16; the two at 0.21 are left
#: to the gap rule and the learning-curve replay. A rise that has levelled off (300101: 0.39
#: given back, its last passes 0.4399 -> 0.4400) is judged by GIVEN_BACK_SHARE as before.
STILL_RISING_GIVEN_BACK_SHARE = 0.25


# --- noise and trend ---------------------------------------------------------------------


def noise(ys) -> float:
    """Point-to-point noise of a curve: the robust spread of its second differences around
    their median, which takes out a steady bend (for independent noise of width s they spread
    by sqrt(6) s). Fewer than three cannot tell a bend from noise: their spread around zero is
    used. A curve that mostly repeats its values has no median spread; its mean spread is used."""
    second = np.diff(np.asarray(ys, dtype=float), n=2)
    if second.size == 0:
        return 0.0
    centre = np.median(second) if second.size >= 3 else 0.0
    deviations = np.abs(second - centre)
    spread = 1.4826 * float(np.median(deviations))
    if spread == 0:
        spread = math.sqrt(math.pi / 2) * float(np.mean(deviations))
    return spread / math.sqrt(6)


def trend_p(ys, direction: str) -> float:
    """One-sided Mann-Kendall p-value for a trend "up" or "down"."""
    ys = np.asarray(ys, float)
    if len(ys) < 3 or np.ptp(ys) == 0:
        return 1.0
    alternative = "greater" if direction == "up" else "less"
    result = stats.kendalltau(np.arange(len(ys)), ys, alternative=alternative)
    return 1.0 if math.isnan(result.pvalue) else float(result.pvalue)


def falling(ys) -> bool:
    """A significant downward trend that also moves the loss."""
    ys = np.asarray(ys, float)
    return trend_p(ys, "down") < ALPHA and ys[0] - ys[-1] > RELATIVE_FLOOR * abs(ys[0])


def rising(ys) -> bool:
    """A significant upward trend that also moves the loss."""
    ys = np.asarray(ys, float)
    return trend_p(ys, "up") < ALPHA and ys[-1] - ys[0] > RELATIVE_FLOOR * abs(ys[0])


def turns_often(ys) -> bool:
    """Turning-point test: more local peaks and troughs than independent noise would give."""
    n = len(ys)
    if n < 6:
        return False
    turns = sum((ys[i] - ys[i - 1]) * (ys[i + 1] - ys[i]) < 0 for i in range(1, n - 1))
    mean, variance = 2 * (n - 2) / 3, (16 * n - 29) / 90
    return stats.norm.sf((turns - mean) / math.sqrt(variance)) < ALPHA


# --- a rise from the best point ----------------------------------------------------------


@dataclass
class Rise:
    """The validation curve from its best point on, and the training curve over the same x."""

    best_x: float
    best_loss: float
    end_loss: float  # the mean of the last END_WINDOW points
    peak_loss: float  # the highest mean of END_WINDOW points in a row, from the best point on
    p_value: float  # of an upward trend from the best point on (the best one included)
    noise: float
    train_at_best: float
    train_end: float
    train_p_value: float  # of a downward trend of the training loss over the same x
    end_falling: bool = False  # the last MIN_TAIL validation points fall by the trend test
    guess: float | None = None  # the constant guess's validation loss, when known
    end_rising: bool = False  # the last MIN_TAIL validation points rise by the trend test

    @property
    def size(self) -> float:
        return self.end_loss - self.best_loss

    @property
    def clear(self) -> bool:
        """A steady rise, beyond the noise and large enough to act on, that has stayed up."""
        return (
            self.p_value < ALPHA
            and self.size > NOISE_WIDTHS * self.noise
            and self.size > PRACTICAL_RISE * abs(self.best_loss)
            and self.stayed
        )

    @property
    def gives_back(self) -> bool:
        """The rise gives back at least GIVEN_BACK_SHARE of the way the validation loss had come
        from the constant guess to its best, or STILL_RISING_GIVEN_BACK_SHARE while it is still
        rising at its end; true without a guess, or when the best point never got below it
        (nothing learned to give back: the rise alone is the question)."""
        if self.guess is None or not math.isfinite(self.guess) or self.best_loss >= self.guess:
            return True
        share = STILL_RISING_GIVEN_BACK_SHARE if self.end_rising else GIVEN_BACK_SHARE
        return self.size >= share * (self.guess - self.best_loss)

    @property
    def stayed(self) -> bool:
        """The curve ends where its rise took it: no lower than its highest END_WINDOW points
        in a row by more than NOISE_WIDTHS times its noise, the bar the rise itself clears,
        and its last MIN_TAIL points not falling by the trend test. A curve that has since come
        down is learning again at its end (a rate that a schedule raised and then lowered, a
        noisy stretch); the trend test from the best point, counting every later point above
        it, still finds its bump a rise. The dev rises found (sessions 11-12: 7 twins, 4
        broken runs) end 0-0.2 noise widths below their peak, none with its last points
        falling."""
        return (self.peak_loss - self.end_loss <= NOISE_WIDTHS * self.noise
                and not self.end_falling)

    @property
    def overfitting(self) -> bool:
        """A clear rise while the training loss goes on falling, by a change that moves it (a
        training loss pinned at 51.005 -> 51.000 falls by a steady trend, and learns nothing),
        that gives back enough of what the model learned to act on (``gives_back``)."""
        return self.clear and self.training_falls and self.gives_back

    @property
    def training_falls(self) -> bool:
        """The training loss falls over the rise by the trend test, by a change that moves it."""
        fall = self.train_at_best - self.train_end
        return fall > RELATIVE_FLOOR * abs(self.train_at_best) and self.train_p_value < ALPHA


def rise_from_best(validation: Curve, train: Curve, guess: float | None = None) -> Rise | None:
    """The rise of ``validation`` from its best point, and ``train`` over the same x (non-finite
    points left out), ``guess`` the constant guess's validation loss when known; None with fewer
    than MIN_POINTS validation points, fewer than MIN_TAIL from the best on, or fewer than 2
    training points from there."""
    points = [(x, y) for x, y in validation if math.isfinite(y)]
    if len(points) < MIN_POINTS:
        return None
    xs, ys = [x for x, _ in points], np.array([y for _, y in points])
    best = int(np.argmin(ys))
    later = [y for x, y in train if x >= xs[best] and math.isfinite(y)]
    if len(ys) - best < MIN_TAIL or len(later) < 2:
        return None
    frozen_after_best = np.ptp(ys[best + 1:]) == 0  # a step, then one value: no trend
    return Rise(
        xs[best], float(ys[best]), float(np.mean(ys[-END_WINDOW:])), _peak(ys[best:]),
        1.0 if frozen_after_best else trend_p(ys[best:], "up"),
        noise(ys), later[0], float(np.mean(later[-END_WINDOW:])), trend_p(later, "down"),
        bool(falling(ys[-MIN_TAIL:])), guess, bool(rising(ys[-MIN_TAIL:])),
    )


def _peak(ys: np.ndarray) -> float:
    """The highest mean of END_WINDOW points in a row (of all of them when fewer)."""
    window = min(END_WINDOW, len(ys))
    return float(np.convolve(ys, np.ones(window) / window, mode="valid").max())


def chunk_means(values: list[float], chunks: int) -> list[float]:
    """``values`` cut into ``chunks`` runs of equal length (the remainder left out), each
    averaged; fewer when there are fewer values."""
    size = len(values) // chunks
    if size == 0:
        return list(values)
    return [float(np.mean(values[i * size:(i + 1) * size])) for i in range(chunks)]
