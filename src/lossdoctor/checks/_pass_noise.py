"""Does the user's own model beat the constant guess steadily, by far more than its validation
loss moves from pass to pass? The pass-to-pass noise is read on the steady part of the curve
and not on its trend: second differences of successive passes cancel a straight trend (a
falling start, an overfitting rise), so what is left is the wobble of one pass against its
neighbours."""

from __future__ import annotations

import math

from lossdoctor.checks._fix import MEANINGFUL_SHARE_OF_CONSTANT_GUESS
from lossdoctor.curve_stats import noise

#: Passes, at least, for the noise to be read at all: two second differences need four points.
MIN_PASSES = 4
#: The first third of the passes is left out of the steady part: the fast early fall is a
#: curve's bend, whose second differences are trend, not noise.
START_SHARE = 1 / 3
#: How many pass-to-pass deviations below the constant guess a pass must be to count as
#: beating it: chosen on the dev cases of docs/devset.md, session 25 (s25-valpath).
NOISE_MULTIPLE = 5.0


def steady_part(losses: list[float]) -> list[float]:
    """The passes from the first third on (the last MIN_PASSES when fewer are left)."""
    start = int(len(losses) * START_SHARE)
    return losses[start:] if len(losses) - start >= MIN_PASSES else losses[-MIN_PASSES:]


def pass_noise(losses: list[float]) -> float | None:
    """The pass-to-pass deviation of the validation loss on the steady part (curve_stats.noise:
    the robust spread of its second differences); None with fewer than MIN_PASSES passes."""
    if len(losses) < MIN_PASSES:
        return None
    return noise(steady_part(losses))


def beats_constant_steadily(losses: list[float], constant: float) -> bool:
    """Most passes of the steady part lie below the constant guess by NOISE_MULTIPLE times the
    pass-to-pass noise and by MEANINGFUL_SHARE_OF_CONSTANT_GUESS of it (a tiny steady offset
    on a very smooth curve is no signal)."""
    noise = pass_noise(losses)
    if noise is None or not (math.isfinite(constant) and constant > 0):
        return False
    bar = constant - max(NOISE_MULTIPLE * noise, MEANINGFUL_SHARE_OF_CONSTANT_GUESS * constant)
    part = steady_part(losses)
    return sum(loss < bar for loss in part) * 2 > len(part)
