"""Whether a run lags the replay of its fix at its own length: a run whose curves look healthy
(still falling, below the constant guess) can still be broken, and a check that found its cause
in the run's records and replayed the fix tells so by the fix's replay, step for step.

The rule, named ``lags_its_fix``: at the run's own number of optimizer steps (or the replays'
length, for a longer run), the replay of the user's setup got at most LAGS_FIX_SHARE of the
gain below the constant guess that the replay with the fix got. Both are read off the same
experiment's curves, on the same validation rows, so the comparison is the one a user makes
between their run and the same script with the fix.
"""

from __future__ import annotations

import itertools
import math

from lossdoctor.findings import Experiment

#: The generator's own bar for a broken run beside its fixed twin (bench/devset/validity.py
#: SYMPTOM_SHARE: a broken run keeps at most half of its twin's gain over the constant guess).
#: A run that, at its own length, keeps at most this share of what the fix's replay gains is
#: broken however its curve looks: the dev cases called healthy while still falling
#: (negative_weight_init 361101, 361106) and their twins are in docs/devset.md, session 27.
LAGS_FIX_SHARE = 0.5


def lags_its_fix(case, experiment: Experiment | None) -> bool:
    """Whether, at the run's own number of steps, the replay of the user's setup kept at most
    LAGS_FIX_SHARE of the gain below the constant guess that the fix's replay got (the fix's
    gain above 0). False without curves to read or a constant guess."""
    gains = gains_at_run_length(case, experiment)
    if gains is None:
        return False
    own, fixed = gains
    return fixed > 0 and own <= LAGS_FIX_SHARE * fixed


def gains_at_run_length(case, experiment: Experiment | None) -> tuple[float, float] | None:
    """(the user's setup's gain, the fix's gain) below the constant guess's validation loss, as
    a share of it, at the run's own step count on the experiment's curves; None when either is
    missing."""
    if experiment is None or not experiment.curve_steps:
        return None
    constant = case.constant_guess_loss("validation")
    steps = case.trace.steps
    if constant is None or not math.isfinite(constant) or constant <= 0 or steps <= 0:
        return None
    at = min(steps, experiment.curve_steps[-1])
    own = _loss_at(experiment.curve_steps, experiment.curve_before, at)
    fixed = _loss_at(experiment.curve_steps, experiment.curve_after, at)
    if own is None or fixed is None:
        return None
    return 1 - own / constant, 1 - fixed / constant


def _loss_at(steps: list[int], losses: list[float], at: float) -> float | None:
    """The curve's loss at step ``at``, read linearly between its two evaluations around it."""
    if len(steps) != len(losses) or not steps:
        return None
    points = list(zip(steps, losses, strict=True))
    for (s0, l0), (s1, l1) in itertools.pairwise(points):
        if s0 <= at <= s1 and s1 > s0:
            value = l0 + (l1 - l0) * (at - s0) / (s1 - s0)
            return value if math.isfinite(value) else None
    last = losses[-1] if at >= steps[-1] else None
    return last if last is not None and math.isfinite(last) else None


def lag_words(case, experiment: Experiment) -> str:
    """" Your validation loss was still falling, but at your run's 120 steps ...": what shows a
    run whose curves look fine broken; "" when the gains cannot be read."""
    gains = gains_at_run_length(case, experiment)
    if gains is None:
        return ""
    own, fixed = gains
    at = min(case.trace.steps, experiment.curve_steps[-1])
    return (f" Your curves show no problem by themselves, but at {at} steps, your run's length, "
            f"the replay of your training had come {own:.0%} of the way from a constant guess "
            f"towards a perfect fit, and the one with the fix {fixed:.0%}: your run keeps less "
            f"than half of what the fix gains.")
