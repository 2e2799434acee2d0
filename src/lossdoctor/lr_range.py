"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
2015): train a copy for about a hundred steps while the learning rate grows exponentially, and
read off which learning rates this model, loss, optimizer and data can take.

It returns plain data (learning rates, smoothed losses, a suggestion and where training blew
up); drawing the curve is the report's job. Nothing needs resetting afterwards: the test trains a
deep copy of the initial model inside :func:`lossdoctor.sandbox.isolated`.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass

from lossdoctor.capture.sample import Batch
from lossdoctor.experiments import Plan, Replayer
from lossdoctor.sandbox import isolated

#: A smoothed loss this many times the best one so far means training has diverged.
DIVERGENCE_FACTOR = 4.0
#: Exponential smoothing: each new loss gets weight 1 - SMOOTHING (about 3 steps of memory).
SMOOTHING = 0.7
#: The suggestion sits this many times below the learning rate at the lowest loss.
SAFETY_FACTOR = 10.0
#: After each step the loss is measured on the same first training batches, up to this many
#: rows, so that the curve follows the learning rate rather than which batch came up.
PROBE_ROWS = 256
#: Resolution of a test spanning a learning rate: steps per decade of lr.
STEPS_PER_DECADE = 12


@dataclass
class RangeTest:
    """The curve of a range test and what it suggests."""

    lrs: list[float]
    losses: list[float]  # exponentially smoothed loss at each learning rate
    raw_losses: list[float]
    minimum_lr: float  # where the smoothed loss was lowest, before any divergence
    suggested_lr: float  # minimum_lr / SAFETY_FACTOR
    divergence_lr: float | None  # first lr whose smoothed loss passed DIVERGENCE_FACTOR x best

    @property
    def diverged(self) -> bool:
        return self.divergence_lr is not None

    @property
    def drop(self) -> float:
        """How far the smoothed loss fell from its start to its lowest point, relative to the
        start: near 0 means the curve is flat and its suggestion says little."""
        start, lowest = self.losses[0], min(self.losses)
        if not math.isfinite(start) or start == 0:
            return 0.0
        return (start - lowest) / abs(start)


def lr_range_test(
    replayer: Replayer,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    seed: int = 0,
) -> RangeTest:
    """Run the range test on the replayer's training batches with the user's optimizer class and
    hyperparameters, the lr rising geometrically from ``start_lr`` to ``end_lr`` in ``steps``
    steps (fewer when the budget shortens every experiment: :meth:`Replayer.sized`). It stops
    once the smoothed loss passes ``DIVERGENCE_FACTOR`` times its best value or is not finite.

    Suggested lr: the lr at the lowest smoothed loss, divided by ``SAFETY_FACTOR``. The lowest
    point is where larger steps stop paying off (and the edge of stability is near); a tenth of
    it is still on the falling part of the curve. This is the common choice (fastai's
    ``lr_min``) and steadier on noisy curves than the point of steepest descent.
    """
    lrs = geometric(start_lr, end_lr, replayer.sized(steps))
    with isolated(seed):
        model = copy.deepcopy(replayer.copies.initial_model)
        optimizer = replayer.optimizer_for(model, Plan(lr=start_lr))
        raw = _train_while_stable(replayer, model, optimizer, lrs, random.Random(seed))
    return _summarize(lrs[: len(raw)], raw)


#: A rate this many decades below the test's suggestion is too low by the test alone: beyond
#: the range test's own uncertainty (about a decade).
LOW_GAP_DECADES = 2.0


def decades(low: float, high: float) -> float:
    """How many orders of magnitude ``high`` is above ``low``."""
    return math.log10(high / low)


def span_around(lr: float) -> tuple[float, float, int]:
    """Where a range test around ``lr`` starts and ends, and its steps: from 1e-7 (or 100x below
    ``lr``) to 10 (or 100x above), STEPS_PER_DECADE steps a decade (about 100)."""
    start, end = min(1e-7, lr / 100), max(10.0, lr * 100)
    return start, end, round(STEPS_PER_DECADE * math.log10(end / start))


def geometric(start: float, end: float, steps: int) -> list[float]:
    """``steps`` values from ``start`` to ``end``, each a constant factor above the last."""
    ratio = (end / start) ** (1 / max(steps - 1, 1))
    return [start * ratio**i for i in range(steps)]


def _train_while_stable(replayer, model, optimizer, lrs, order: random.Random) -> list[float]:
    batches, probe = replayer.train_batches, _probe(replayer.train_batches)
    raw: list[float] = []
    for lr in lrs:
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = replayer.train_step(model, optimizer, batches[order.randrange(len(batches))])
        raw.append(replayer.evaluate(model, probe) if math.isfinite(loss) else math.inf)
        if _divergence_index(smoothed(raw)) is not None:
            break
    return raw


def _probe(batches: list[Batch]) -> list[Batch]:
    probe = batches[:1]
    for batch in batches[1:]:
        if sum(b.rows for b in probe) + batch.rows > PROBE_ROWS:
            break
        probe.append(batch)
    return probe


def smoothed(raw: list[float], beta: float = SMOOTHING) -> list[float]:
    """Exponential moving average with bias correction, so early values are not pulled to 0.
    From the first value that is not finite on, the curve is infinite."""
    out, average = [], 0.0
    for i, loss in enumerate(raw):
        if math.isfinite(loss) and math.isfinite(average):
            average = beta * average + (1 - beta) * loss
        else:
            average = math.inf
        out.append(average / (1 - beta ** (i + 1)))
    return out


def _divergence_index(curve: list[float]) -> int | None:
    best = math.inf
    for i, loss in enumerate(curve):
        if not math.isfinite(loss) or (math.isfinite(best) and _exceeds(loss, best)):
            return i
        best = min(best, loss)
    return None


def _exceeds(loss: float, best: float) -> bool:
    """Past DIVERGENCE_FACTOR x the best loss (for a best below 0, measured in its own size)."""
    return loss > best + (DIVERGENCE_FACTOR - 1) * abs(best)


def _summarize(lrs: list[float], raw: list[float]) -> RangeTest:
    curve = smoothed(raw)
    stop = _divergence_index(curve)
    stable = curve if stop is None else curve[:stop]
    lowest = min(range(len(stable)), key=stable.__getitem__) if stable else 0
    return RangeTest(
        lrs=lrs,
        losses=curve,
        raw_losses=raw,
        minimum_lr=lrs[lowest],
        suggested_lr=lrs[lowest] / SAFETY_FACTOR,
        divergence_lr=lrs[stop] if stop is not None else None,
    )
