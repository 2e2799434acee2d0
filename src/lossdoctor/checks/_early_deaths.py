"""ReLU layers alive at the start that the first updates killed: what a step too large does.

A ReLU unit dies when one update pushes its pre-activation below zero for every input; at a
usual rate an update moves each weight by about the rate (1e-3 for Adam), far too little to
silence a layer that was alive before it. A layer dead_relu reads as killed in training (alive
at its first sample, mostly dead over the run's second half) that stayed mostly dead from within
the run's first EARLY_SHARE of steps was killed by the first updates' size: the learning rate's
check tests it with a replay at a lower rate (dead_relu's LeakyReLU replay cannot: the leak
keeps the units from dying, not the steps from being too large).
"""

from __future__ import annotations

from lossdoctor.checks.dead_relu import DeadLayer, dead_layers
from lossdoctor.findings import Skip

#: "The first updates": the layer is mostly dead from within this share of the run's steps.
#: bench/fresh20 s13 (Adam at 0.05 on a character CNN): 94% of the first conv dead from step 4
#: of 228 (2%); dev lr_times_thousand and sgd_huge_lr runs (sessions 12-15): dead from the first
#: samples after step 0, 3-15% dead there. A tenth leaves room for a sampling schedule that
#: watches every few steps, and excludes units that die late, once the loss is low, which is
#: not a step too large from the start.
EARLY_SHARE = 0.1


def killed_early(trace) -> list[DeadLayer]:
    """The ReLU layers the first updates killed (see the module), most dead first."""
    try:
        layers = dead_layers(trace)
    except Skip:  # no ReLU seen
        return []
    early = max(1, int(EARLY_SHARE * trace.steps))
    found = [d for d in layers if d.killed_in_training and 0 < d.first_dead_step <= early]
    return sorted(found, key=lambda d: d.dead, reverse=True)
