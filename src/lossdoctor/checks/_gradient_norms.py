"""The run's total gradient norm at each sampled step, and how far it grew before a blow-up."""

from __future__ import annotations

import math
import statistics

#: Sampled steps whose median is "the start" of the gradient norm.
START_STEPS = 3


def total_norms(trace) -> dict[int, float]:
    """The gradient norm over all parameters at each sampled step (inf when not finite)."""
    squares: dict[int, float] = {}
    for g in trace.gradients:
        value = g.grad_norm ** 2 if math.isfinite(g.grad_norm) else math.inf
        squares[g.step] = squares.get(g.step, 0.0) + value
    return {step: math.sqrt(s) for step, s in sorted(squares.items())}


def growth_before(norms: dict[int, float], first_bad: int) -> tuple[float, float]:
    """The start (median of the first START_STEPS sampled norms) and the largest finite norm
    sampled before step ``first_bad``; NaN for either when too few were sampled."""
    before = [v for step, v in norms.items() if step < first_bad and math.isfinite(v)]
    if len(before) <= START_STEPS:
        return math.nan, math.nan
    return statistics.median(before[:START_STEPS]), max(before)


def decades(low: float, high: float) -> float:
    """log10(high / low); 0 when either is not a positive finite number."""
    if not (low > 0 and math.isfinite(low) and high > 0 and math.isfinite(high)):
        return 0.0
    return math.log10(high / low)
