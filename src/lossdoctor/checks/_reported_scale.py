"""The validation loss the script reports (prints, writes to TensorBoard, logs to its
framework) against the same passes' loss calls: a number off from them by one steady factor is
the same loss, scaled by the script's bookkeeping (losses summed over rows and divided by the
number of batches, a sum never divided, batch means divided by the number of rows)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from decimal import Decimal

from lossdoctor.trace import REPORTED_SOURCES, Trace

#: Passes seen both as loss calls and as a reported number: with fewer, one stray line (a
#: "best val loss" printed beside the last pass) could pass for a factor.
MIN_PAIRED_PASSES = 3
#: The largest spread (highest ratio over lowest) of the per-pass factors that is still one
#: steady factor. A number printed to four decimals is off by at most half a unit in its last
#: place (0.3% at 0.0150); a factor that is really a bookkeeping mistake is the same at every
#: pass (the rows and batches of the validation set do not change), while a reported number
#: that is another quantity (a loss with a penalty added, a metric) moves against the loss.
STEADY_SPREAD = 1.1
#: A reported number whose last printed digit is worth more than this share of it (half a unit
#: of the last place: "0.0001" could be anything from 0.00005 to 0.00015) says too little about
#: its scale to be compared: a loss printed to four decimals near zero reads as a factor of up
#: to 3 by rounding alone. At 5% the rounding stays well inside MAX_RATIO's 1.25.
MAX_ROUNDING = 0.05


@dataclass
class ReportedScale:
    """The reported validation loss is ``factor`` times the loss calls' mean per row."""

    factor: float
    reported: float  # at the last paired pass
    per_row: float  # the loss calls' mean per row at the last paired pass
    passes: int
    source: str  # "printed", "tensorboard" or "framework"


def reported_scale(trace: Trace) -> ReportedScale | None:
    """The steady factor between what the script reports and the loss calls, from the first
    reporting source that paired MIN_PAIRED_PASSES passes, or None."""
    passes = trace.validation_passes()
    if not passes or passes[-1].source != "loss calls":
        return None
    per_row = {p.step: p.loss for p in passes}
    for source in REPORTED_SOURCES:
        reported = {r.step: r.value for r in trace.reported if r.source == source}
        pairs = [(reported[step], per_row[step]) for step in sorted(reported)
                 if step in per_row and _resolved(reported[step]) and _positive(per_row[step])]
        if len(pairs) >= MIN_PAIRED_PASSES:
            return _steady_factor(pairs, source)
    return None


def _steady_factor(pairs: list[tuple[float, float]], source: str) -> ReportedScale | None:
    factors = [reported / per_row for reported, per_row in pairs]
    if max(factors) / min(factors) > STEADY_SPREAD:
        return None
    return ReportedScale(statistics.median(factors), pairs[-1][0], pairs[-1][1], len(pairs),
                         source)


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def _resolved(value: float) -> bool:
    """A positive number given to enough digits (MAX_ROUNDING) to tell its scale."""
    if not _positive(value):
        return False
    half_last_place = 10.0 ** Decimal(repr(value)).as_tuple().exponent / 2
    return half_last_place <= MAX_ROUNDING * value
