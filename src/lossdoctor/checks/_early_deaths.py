"""ReLU layers alive at the start that the first updates killed: what a step too large does.

A ReLU unit dies when one update pushes its pre-activation below zero for every input; at a
usual rate an update moves each weight by about the rate (1e-3 for Adam), far too little to
silence a layer that was alive before it. A layer alive at its first sample (less than
ALIVE_AT_START dead) and more than MOST dead on every sample from within the run's first
EARLY_SHARE of steps to the end was killed by the first updates' size: the learning rate's
check tests it with a replay at a lower rate (dead_relu's LeakyReLU replay cannot: the leak
keeps the units from dying, not the steps from being too large).
"""

from __future__ import annotations

from dataclasses import dataclass

#: "Most units": more than half of a layer (dead_relu's MOST, for the same reason).
MOST = 0.5
#: Alive at the start: less than this share dead at the first sample, the most a default
#: initialization left dead on dev (dead_relu's BUILT_DEAD: 0.38 at most on the fixed twins of
#: negative_weight_init).
ALIVE_AT_START = 0.4
#: "The first updates": the layer is mostly dead from within this share of the run's steps.
#: bench/fresh20 s13 (Adam at 0.05 on a character CNN): 94% of the first conv dead from step 4
#: of 228 (2%); dev lr_times_thousand and sgd_huge_lr runs (sessions 12-15): dead from the first
#: samples after step 0, 3-15% dead there. A tenth leaves room for a sampling schedule that
#: watches every few steps, and excludes units that die late, once the loss is low, which is
#: not a step too large from the start.
EARLY_SHARE = 0.1
#: Samples a layer needs (dead_relu's 2 * LATE_SAMPLES): fewer cannot say "from then to the end".
MIN_SAMPLES = 6


@dataclass
class EarlyDeath:
    layer: str
    at_start: float  # dead share at the first sample
    dead_from: int  # the step from which every sample is more than MOST dead
    least_after: float  # the smallest dead share from then on


def killed_early(trace) -> list[EarlyDeath]:
    """The ReLU layers the first updates killed (see the module), most dead first."""
    by_layer: dict[str, list] = {}
    for stat in trace.activations:
        if stat.kind == "relu":
            by_layer.setdefault(stat.layer, []).append(stat)
    early = max(1, int(EARLY_SHARE * trace.steps))
    found = [death for layer, seen in by_layer.items()
             if (death := _death(layer, sorted(seen, key=lambda s: s.step))) is not None
             and 0 < death.dead_from <= early]
    return sorted(found, key=lambda d: d.least_after, reverse=True)


def _death(layer: str, seen: list) -> EarlyDeath | None:
    if len(seen) < MIN_SAMPLES or seen[0].dead_fraction >= ALIVE_AT_START:
        return None
    first = len(seen)
    while first > 0 and seen[first - 1].dead_fraction > MOST:
        first -= 1
    if first == len(seen):
        return None
    after = seen[first:]
    return EarlyDeath(layer, seen[0].dead_fraction, after[0].step,
                      min(s.dead_fraction for s in after))
