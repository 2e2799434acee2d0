"""A loss curve that clearly beat the constant guess, then fell back to it and stayed there: a
model knocked off what it had learned. A step too large does this when it kills the ReLU units
or throws the weights where nothing but the output's bias still learns, and that bias then
brings the loss back to the guess (LeNet under SGD at 0.1 with momentum 0.9: validation 2.21,
1.69, then 2.30 = ln 10 for every pass after). Read by the symptom (such a curve is not "still
falling") and by learning_rate (the rate's instability)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossdoctor.curve_stats import NOISE_WIDTHS, noise

#: A point no more than this share of the guess below it is back at the guess: the bar below
#: which the symptom says a model learned next to nothing (symptom.NEAR_CHANCE_SHARE, measured
#: on dev runs called healthy at 0.4-14.8% below the guess against twins 29.5-100% below).
AT_GUESS_SHARE = 0.1
#: "Clearly beat the guess": the best point before the return is below the guess by at least
#: this share of it (and by NOISE_WIDTHS times the curve's point-to-point noise): twice the
#: band the return is read in, so a curve that only wobbles inside and just out of that band
#: has not beaten the guess. Chosen on dev curves (docs/devset.md, session 35, s35-lr).
CLEARLY_BELOW_SHARE = 2 * AT_GUESS_SHARE
#: "Stayed there": at least this many points, the last of the curve, all back at the guess,
#: the symptom's LAST_PASSES: three points at the guess in a row are no single bad pass.
STAYED_POINTS = 3


@dataclass
class Collapse:
    """Where the curve got to before it fell back, and the stretch at the guess it ended in."""

    best: float  # the lowest point before the return
    best_index: int
    back_from: int  # the first point of the final stretch at the guess
    end: float  # the mean of its last STAYED_POINTS points (a blow-up on the way left out)
    guess: float
    points: int  # the curve's length


def fell_back(losses: list[float], guess: float | None) -> Collapse | None:
    """The collapse of ``losses`` (validation passes, or a training curve's chunk means) to
    the constant ``guess``: it ends with at least STAYED_POINTS points back at the guess
    (AT_GUESS_SHARE), and before them came a point that beat it clearly (CLEARLY_BELOW_SHARE,
    and NOISE_WIDTHS times the curve's noise, ``_noise_below``). None otherwise."""
    back = back_at_guess(losses, guess)
    if back is None or back == 0:
        return None
    before = losses[:back]
    best_index = min(range(len(before)), key=before.__getitem__)
    best = before[best_index]
    bar = max(CLEARLY_BELOW_SHARE * guess, NOISE_WIDTHS * _noise_below(losses, guess))
    if guess - best < bar:
        return None
    last = losses[-STAYED_POINTS:]
    return Collapse(best, best_index, back, sum(last) / len(last), guess, len(losses))


def back_at_guess(losses: list[float], guess: float | None) -> int | None:
    """The index from which every point of ``losses`` to the end is back at the ``guess``
    (no further than AT_GUESS_SHARE of it below it, or above it), when that stretch holds at
    least STAYED_POINTS points; None otherwise."""
    if guess is None or not (math.isfinite(guess) and guess > 0):
        return None
    if not all(math.isfinite(v) for v in losses):
        return None
    bar = (1 - AT_GUESS_SHARE) * guess
    back = len(losses)
    while back > 0 and losses[back - 1] >= bar:
        back -= 1
    return back if len(losses) - back >= STAYED_POINTS else None


def _noise_below(losses: list[float], guess: float) -> float:
    """The curve's point-to-point noise with every point above the ``guess`` taken as the
    guess: a loss above it (a step that blew the model up on its way back) is no better than
    the guess, and its size is the blow-up's, not the noise of a pass (dev MLP under SGD at 0.8
    with momentum: 0.95, 0.23, 0.12, 14.5, 1.67, then 0.70-0.75 at the guess 0.69, whose
    spike made the noise 0.26 and hid a fall to a sixth of the guess)."""
    return noise([min(v, guess) for v in losses])
