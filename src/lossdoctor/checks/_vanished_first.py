"""Whether the error signal had vanished on its way back to the first layers before the
sigmoid/tanh units were pinned.

A pinned unit passes almost no gradient, so pinned layers make the gradient vanish below them.
The converse does not hold: a deep stack whose weights are too small (or whose squashing slopes
multiply down, layer after layer) loses the error signal with every unit near the function's
centre, where its slope is largest; its last layers, the only ones that learn, can then be
driven to the limits by training that finds no other way down (dev deep_tanh_tiny_init 422005:
no unit pinned over the first 64 steps, the error already 6.6 decades smaller at the first
layer than at the last, then 70-97% of four tanh layers pinned from step 100 on). Saturation
found that way came after the gradient vanished, not before it.
"""

from __future__ import annotations

import math
import statistics

from lossdoctor.checks._gradient_profile import (
    Profile,
    bias_profile,
    embedding_tables,
    gradient_profile,
    has_squashing_layers,
)
from lossdoctor.checks._pinned import HIDDEN_SATURATING
from lossdoctor.findings import Skip


def gap_before_pinning(case, steps: int) -> float:
    """Decades the error signal fell from the last layer to the first over the first ``steps``
    sampled steps (the median; the weights' relative gradients or, in a sigmoid/tanh model
    without normalization, the biases' gradients, whichever fell further: tiny weights hide the
    fall from the weights' own gradients, _gradient_profile.bias_profile), less the most the
    hidden units pinned at those steps can account for (:func:`pinning_bound`); NaN when no
    profile can be read."""
    start = _start_gap(case, steps)
    if not start:
        return math.nan
    first_steps, gap = start
    return gap - pinning_bound(case.trace, first_steps)


def pinning_bound(trace, steps: set[int]) -> float:
    """The most decades hidden sigmoid/tanh units pinned at ``steps`` can take off the error
    signal: a layer whose share p of outputs is pinned passes at most the other 1 - p of it (a
    pinned unit passes almost nothing, an unpinned one at most its slope, 1 for a tanh at 0), so
    the layers together at most the product; inf when a layer was wholly pinned."""
    shares: dict[str, list[float]] = {}
    for stat in trace.activations:
        if stat.kind in HIDDEN_SATURATING and stat.step in steps:
            shares.setdefault(stat.layer, []).append(stat.saturated_fraction)
    passed = [1 - statistics.mean(seen) for seen in shares.values()]
    if any(share <= 0 for share in passed):
        return math.inf
    return sum(-math.log10(share) for share in passed)


def _start_gap(case, steps: int) -> tuple[set[int], float] | None:
    """The first ``steps`` sampled steps both profiles share, and the widest median gap of the
    profiles over them; None without a profile."""
    profiles = _profiles(case)
    if not profiles:
        return None
    first = set(sorted(profiles[0].by_step)[:steps])
    gaps = [statistics.median(p.gaps_at(first)) for p in profiles if p.gaps_at(first)]
    return (first, max(gaps)) if gaps else None


def _profiles(case) -> list[Profile]:
    """The weights' gradient profile and, for a model with sigmoid/tanh layers, the biases'."""
    model = case.copies.initial_model
    try:
        profiles = [gradient_profile(case.trace, embedding_tables(model))]
    except Skip:
        profiles = []
    if has_squashing_layers(case):
        biases = bias_profile(case.trace, model)
        profiles += [biases] if biases is not None else []
    return profiles
