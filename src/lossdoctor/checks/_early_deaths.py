"""ReLU layers alive at the start that the first updates killed: what a step too large does.

A ReLU unit dies when one update pushes its pre-activation below zero for every input; at a
usual rate an update moves each weight by about the rate (1e-3 for Adam), far too little to
silence a layer that was alive before it. A layer alive at its first sample (less than
BUILT_DEAD dead, checks._dead_units) and more than MOST dead on every sample from within the
run's first EARLY_SHARE of steps to the end was killed by the first updates' size: the learning
rate's check tests it with a replay at a lower rate (dead_relu's LeakyReLU replay cannot: the
leak keeps the units from dying, not the steps from being too large).
"""

from __future__ import annotations

from dataclasses import dataclass

from lossdoctor.checks._dead_units import BUILT_DEAD, DeadLayer, dead_layers
from lossdoctor.findings import Skip

#: "The first updates": the layer is mostly dead from within this share of the run's steps.
#: bench/fresh20 s13 (Adam at 0.05 on a character CNN): 94% of the first conv dead from step 4
#: of 228 (2%); dev lr_times_thousand and sgd_huge_lr runs (sessions 12-15): dead from the first
#: samples after step 0, 3-15% dead there. A tenth leaves room for a sampling schedule that
#: watches every few steps, and excludes units that die late, once the loss is low, which is
#: not a step too large from the start.
EARLY_SHARE = 0.1


@dataclass
class EarlyDeath:
    layer: str
    at_start: float  # dead share at the first sample
    dead_from: int  # the step from which every sample is more than MOST dead
    least_after: float  # the smallest dead share from then on


def killed_early(trace) -> list[EarlyDeath]:
    """The ReLU layers the first updates killed (see the module), most dead first: alive at
    the first sample (less than BUILT_DEAD dead, the most a default initialization left dead
    on dev) and more than MOST dead on every sample from within EARLY_SHARE of the steps on."""
    try:
        layers = dead_layers(trace)
    except Skip:
        return []
    early = max(1, int(EARLY_SHARE * trace.steps))
    found = [_early_death(d) for d in layers if _killed_early(d, early)]
    return sorted(found, key=lambda d: d.least_after, reverse=True)


def _killed_early(layer: DeadLayer, early: int) -> bool:
    return (layer.at_start < BUILT_DEAD and layer.least_after is not None
            and 0 < layer.first_dead_step <= early)


def _early_death(layer: DeadLayer) -> EarlyDeath:
    return EarlyDeath(layer.layer, layer.at_start, layer.first_dead_step, layer.least_after)
