"""How far the error signal falls on its way back through the layers: each weight's gradient
relative to the weight's size, or each bias's gradient (the error alone), first layer to last,
at every sampled step. Read by vanishing_gradients (the gap itself) and saturated_activation
(whether the gap was there before any unit was pinned)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from torch import nn

from lossdoctor.findings import Skip

#: Orders of magnitude between the first and last layer's relative gradient. Healthy nets of a
#: few ReLU layers sit within one or two; default-initialized deep ReLU stacks reach about three
#: early on and still learn. Four is beyond what normal depth and init account for.
GAP_DECADES = 4.0
#: The fewest sampled steps and weight layers that make a gradient profile.
MIN_STEPS = 3
MIN_LAYERS = 3
SQUASHING = (nn.Sigmoid, nn.Tanh)
SQUASHING_KINDS = ("sigmoid", "tanh")
#: Normalization layers: a bias just before one gets no gradient (bias_profile).
NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@dataclass
class Profile:
    """Relative gradient size (gradient norm / weight norm) of each weight, first to last; or,
    for a profile of biases (``of_biases``), each bias's gradient norm."""

    names: list[str]
    by_step: dict[int, list[float]]  # step -> relative gradient of each weight, in order
    of_biases: bool = False
    cut: int = 0  # sampled steps left out: the first layer's path cut by dead units

    def gaps(self) -> list[float]:
        """Decades from the last layer's relative gradient down to the first's, per step."""
        return [decades(row[-1], row[0]) for row in self.by_step.values()]

    def share_at_least(self, floor: float) -> float:
        """The share of the sampled steps, the cut ones included, whose gap is ``floor`` or
        more."""
        gaps = self.gaps()
        return sum(g >= floor for g in gaps) / (len(gaps) + self.cut)

    def without_cut_paths(self, trace) -> Profile:
        """This profile without the steps at which the first layer's gradient is exactly zero
        while a ReLU-family layer of the run had every unit off (``dead_path_steps``)."""
        cut = dead_path_steps(trace, self)
        rows = {s: row for s, row in self.by_step.items() if s not in cut}
        return Profile(self.names, rows, self.of_biases, self.cut + len(cut))

    def gaps_at(self, steps: set[int]) -> list[float]:
        """gaps() at those of ``steps`` the profile holds."""
        return [decades(row[-1], row[0]) for step, row in self.by_step.items() if step in steps]

    def layer_medians(self) -> list[float]:
        return [statistics.median(row[i] for row in self.by_step.values())
                for i in range(len(self.names))]


def by_biases_when_wider(case, weights: Profile) -> Profile:
    """The bias profile (bias_profile) when its median gap reaches GAP_DECADES in a model with
    hidden sigmoid/tanh layers, else ``weights``. Not for a ReLU model: a layer of dead units
    passes no error back either (the zoo's dead_relu_bias, whose biases' gap read as
    vanishing_gradients ahead of dead_relu)."""
    model = case.copies.initial_model
    biases = bias_profile(case.trace, model) if has_squashing_layers(case) else None
    if biases is None or statistics.median(biases.gaps()) < GAP_DECADES:
        return weights
    return biases


def has_squashing_layers(case) -> bool:
    """Whether the model has hidden sigmoid/tanh layers: modules, or function calls."""
    model = case.copies.initial_model
    return model is not None and (squashing_functions(case.trace) or any(
        isinstance(m, SQUASHING) for m in model.modules()))


def bias_profile(trace, model: nn.Module | None) -> Profile | None:
    """The gradient norm of each layer's bias, first to last, at each sampled step; None for
    fewer than MIN_LAYERS biases, or a model with a normalization layer.

    A bias's gradient is the error signal that reaches its layer, summed over the batch rows,
    not multiplied by the layer's inputs as its weight's is. Weights too small for the depth
    shrink the signal both ways: the forward one, layer by layer, as much as the backward one,
    so each weight's gradient (inputs times error) is about as small as every other's, and the
    weights' gap does not show what the biases' does (dev deep_tanh_tiny_init 349023, plain
    tensors with zero biases: weights 0.2 decades apart at the start, biases 5.7). A bias just
    before a normalization layer gets no gradient by construction (the normalization removes
    it): a healthy twin with BatchNorm (dev shuffled_labels 349101's) held its biases 6.5
    decades apart."""
    if model is None or any(isinstance(m, NORMS) for m in model.modules()):
        return None
    biases = [g for g in trace.gradients
              if not g.is_weight and (g.dims == 1 or g.name.endswith("bias"))]
    names = list(dict.fromkeys(g.name for g in biases))
    if len(names) < MIN_LAYERS:
        return None
    by_step: dict[int, dict[str, float]] = {}
    for g in biases:
        if math.isfinite(g.grad_norm):
            by_step.setdefault(g.step, {})[g.name] = g.grad_norm
    rows = {s: [seen[n] for n in names] for s, seen in by_step.items() if len(seen) == len(names)}
    return Profile(names, rows, of_biases=True) if len(rows) >= MIN_STEPS else None


def embedding_tables(model: nn.Module | None) -> frozenset[str]:
    """The names of ``model``'s embedding tables. A table is looked up, not multiplied: a
    batch's gradient reaches only the rows it looks up, so the table's gradient is small
    against all its weights by design, and tables side by side (a recommender's users and
    items) are not layers in depth, one after the other."""
    if model is None:
        return frozenset()
    return frozenset(f"{name}.weight" if name else "weight" for name, module
                     in model.named_modules() if isinstance(module, nn.Embedding))


def gradient_profile(trace, left_out: frozenset[str] = frozenset()) -> Profile:
    """The relative gradient of every weight matrix (biases and ``left_out`` left out) at
    each sampled step."""
    weights = [g for g in trace.gradients if g.is_weight and g.name not in left_out]
    names = list(dict.fromkeys(g.name for g in weights))
    if len(names) < MIN_LAYERS:
        # shape_broadcast_gru_next_value: "1 had gradients" beside a figure of three weight
        # rows, the GRU's weight_ih_l0 and weight_hh_l0 among them, which are not compared
        recurrent = any("weight_hh" in g.name for g in trace.gradients)
        raise Skip(f"needs gradients of at least {MIN_LAYERS} weight layers: "
                   f"{len(names)} had gradients" + (" (a recurrent layer's weight_ih and "
                                                    "weight_hh are not compared)" if recurrent
                                                    else ""))
    by_step: dict[int, dict[str, float]] = {}
    for g in weights:
        if math.isfinite(g.grad_norm) and g.weight_norm > 0 and math.isfinite(g.weight_norm):
            by_step.setdefault(g.step, {})[g.name] = g.grad_norm / g.weight_norm
    rows = {s: [seen[n] for n in names] for s, seen in by_step.items() if len(seen) == len(names)}
    if len(rows) < MIN_STEPS:
        raise Skip(f"needs finite gradients at {MIN_STEPS} or more sampled steps")
    return Profile(names, rows)


def dead_path_steps(trace, profile: Profile) -> set[int]:
    """The sampled steps at which the first layer's gradient is exactly zero, in a run where a
    ReLU-family layer had every unit off. No error passes a layer none of whose units fire: the
    path is cut, the gradient does not shrink layer by layer (the test part's
    negative_weight_init, all-negative weights: its zero first-layer gradient read as 28
    decades of vanishing, ahead of the dead units that explain it). A gradient that shrinks
    through sigmoid/tanh layers stays above zero."""
    if not any(a.kind == "relu" and a.dead_fraction >= 1.0 for a in trace.activations):
        return set()
    return {step for step, row in profile.by_step.items() if row[0] == 0.0}


def squashing_functions(trace) -> bool:
    """Whether the run computed hidden sigmoid/tanh layers by function calls (the capture names
    those "torch.tanh ..."): more than one unit, so not a binary output's sigmoid."""
    return any(a.kind in SQUASHING_KINDS and a.layer.startswith("torch.") and a.units > 1
               for a in trace.activations)


def decades(high: float, low: float) -> float:
    return math.log10(max(high, 1e-30) / max(low, 1e-30))
