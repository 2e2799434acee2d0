"""Each ReLU layer's dead share over a run's sampled steps (its lasting death, when it died,
how dead it was at the start): the reading dead_relu judges, and that checks._early_deaths reads
for the units the first updates killed."""

from __future__ import annotations

from dataclasses import dataclass

from lossdoctor.findings import Skip

#: "Most units": more than half of a layer. Healthy ReLU networks keep most units alive; a
#: share of dead ones (a tenth or two) is common and harmless.
MOST = 0.5
#: Sampled forward passes a layer needs in the second half of training to call death lasting.
LATE_SAMPLES = 3
#: The first step watched of a model written as plain tensors: its first step is what shows
#: lossdoctor the model (capture/tensor_activations.py). A layer dead from there on was built
#: dead, or killed by the very first update, which at a usual rate moves each weight by about
#: the learning rate (1e-3 for Adam): far too little to silence a layer.
FIRST_WATCHED = 1
#: A layer this share dead on every sampled step, from the first one watched (before any
#: update) on, was built mostly dead: tested by a replay from the default initialization,
#: and blamed only when that replay helps. Weights drawn all negative leave 42-50% of a layer
#: dead for every row on every sample while the other units are off for most rows (dev
#: negative_weight_init 60008, 60010, 60011, 60012: 0.48, 0.44, 0.5, 0.42 at least), below
#: MOST; the default-initialized twins of those cases showed at most 0.38 dead over all their
#: samples (60003's third hidden layer; 0.0-0.03 in the other seven).
BUILT_DEAD = 0.4
#: ...but PyTorch's default initialization shrinks the signal layer by layer, so a deep ReLU
#: stack's deepest layers see mostly their biases, and about half their units are dead at the
#: start: dev fixed twins of deep_relu_large_init (default init, 6-8 ReLU layers), 291004 and
#: 291005, 0.54 at the deepest layer at step 0 (0.41 its least over the run); default-init MLPs
#: of depth 6-8 and width 32-96 on 64 standard normal rows, 20 draws each, 0.45-0.52 at the
#: deepest layer (median), some layer above BUILT_DEAD in 359 of 360. A layer is built dead only
#: when the model, measured on the run's first training batches, has a ReLU layer more than
#: BUILT_DEAD_EXCESS more dead than the most dead of REFERENCE_DRAWS default-initialized copies
#: at the same place. Measured (4 batches of 64 rows, depths 2-8, widths 32-96, 8 draws each):
#: a default-initialized model against three others exceeds them by at most 0.16 (95th
#: percentile 0.08); weights drawn uniform in (-a, 0), a in 0.1-0.45 (negative_weight_init,
#: depths 2-4), by at least 0.36. The bar sits between the two.
BUILT_DEAD_EXCESS = 0.25
@dataclass
class DeadLayer:
    layer: str
    dead: float  # the smallest dead fraction seen over the late samples
    first_dead_step: int  # the first sampled step from which it stayed above MOST
    units: int
    least: float = 0.0  # the smallest dead fraction over every sample, the first included
    first_watched: int = 0  # the step of the first sample
    at_start: float = 0.0  # the dead fraction at the first sample
    #: the model is clearly more dead at the start than default-initialized copies of it
    beyond_default: bool = True
    #: the smallest dead fraction from first_dead_step on; None when the last sample was not
    #: mostly dead (then first_dead_step is only the last sample's step)
    least_after: float | None = None
    #: how much more of it was dead at the start than in the most dead of default-initialized
    #: copies of the model, measured on copies (dead_relu.more_dead_than_default); 0 unmeasured
    excess_at_start: float = 0.0

    @property
    def killed_in_training(self) -> bool:
        """Mostly dead late, though alive at the first sample (less than BUILT_DEAD dead)."""
        return self.dead > MOST and self.at_start < BUILT_DEAD

    @property
    def built_dead(self) -> bool:
        """Dead (more than BUILT_DEAD) from the first step watched on, on every sample:
        before any update could kill it; and more so than a default initialization leaves it.
        Or, on a layer of few units whose dead share moves in large steps, more than
        BUILT_DEAD_EXCESS more dead at the start than every default-initialized copy
        (``excess_at_start``): dev negative_weight_init 361101, a CNN of 8 channels whose
        negative weights left 3 of them dead (0.375, below BUILT_DEAD) and 80% of its outputs at
        0, against none dead at the default init."""
        return (self.first_watched <= FIRST_WATCHED and self.beyond_default
                and (self.least > BUILT_DEAD or self.excess_at_start > BUILT_DEAD_EXCESS))

    @property
    def dead_as_built(self) -> bool:
        """Dead from the first step watched (BUILT_DEAD or more at the first sample) and late
        no more than BUILT_DEAD_EXCESS beyond that share: what it is late, the initialization
        left it. Not a fault of its own when the initialization is no more dead than
        PyTorch's default (``beyond_default``): a deep ReLU stack's deepest layers are about
        half dead at the default init and stay so through a healthy run."""
        return (self.first_watched <= FIRST_WATCHED and self.at_start >= BUILT_DEAD
                and self.dead - self.at_start <= BUILT_DEAD_EXCESS)

    @property
    def suspect(self) -> bool:
        """Mostly dead late, unless as the default initialization left it; or built dead."""
        return (self.dead > MOST and not (self.dead_as_built and not self.beyond_default)
                ) or self.built_dead

    @property
    def is_function(self) -> bool:
        """A call of F.relu or torch.relu, which a module swap cannot replace."""
        return self.layer.startswith("torch.")


def dead_layers(trace) -> list[DeadLayer]:
    """Every ReLU layer's lasting dead fraction over the second half of the sampled steps."""
    by_layer: dict[str, list] = {}
    for stat in trace.activations:
        if stat.kind == "relu":
            by_layer.setdefault(stat.layer, []).append(stat)
    if not by_layer:
        raise Skip("needs a ReLU activation (nn.ReLU, F.relu or torch.relu): none was seen")
    return [_lasting(layer, seen) for layer, seen in by_layer.items()
            if len(seen) >= 2 * LATE_SAMPLES]


def _lasting(layer: str, seen: list) -> DeadLayer:
    """The minimum over the late samples: a unit dead all along is dead in each of them, and
    the minimum discounts units that only looked dead on one small batch."""
    seen = sorted(seen, key=lambda s: s.step)
    late = seen[len(seen) // 2:]
    first = len(seen)
    while first > 0 and seen[first - 1].dead_fraction > MOST:
        first -= 1
    first_step = seen[first].step if first < len(seen) else seen[-1].step
    least = min(s.dead_fraction for s in seen)
    if least > BUILT_DEAD:  # dead from the first sample on, if less than mostly at times
        first_step = seen[0].step
    after = [s.dead_fraction for s in seen[first:]]
    return DeadLayer(layer, min(s.dead_fraction for s in late), first_step, seen[-1].units,
                     least=least, first_watched=seen[0].step, at_start=seen[0].dead_fraction,
                     least_after=min(after) if after else None)
