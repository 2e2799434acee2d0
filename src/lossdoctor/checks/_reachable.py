"""The values a model's output can take, read from the operations that end its forward pass: a
sigmoid or softmax keeps it in (0, 1), a tanh in (-1, 1), a ReLU at or above 0, an exponential
above 0 (and at most 1 when what it exponentiates is never positive: a siamese network's
``exp(-|h1 - h2|.sum(1))``). Intervals are carried through the output's autograd graph from its
last operations back; any operation not known here leaves the output unbounded, so a bound is
only ever claimed when each step that makes it is read.
"""

from __future__ import annotations

import math

import torch

Interval = tuple[float, float]
#: Anything: an operation this file does not know, or a weight layer's output.
UNBOUNDED: Interval = (-math.inf, math.inf)
#: How many operations back from the output are read: the bound of an output is set by its
#: last few operations (an activation, a reduction, a reshape); past that lie weight layers,
#: which are unbounded anyway.
MAX_DEPTH = 12

#: Operations whose output lies in a fixed range, whatever their input.
FIXED = {
    "SigmoidBackward0": (0.0, 1.0),
    "SoftmaxBackward0": (0.0, 1.0),
    "TanhBackward0": (-1.0, 1.0),
    "LogSoftmaxBackward0": (-math.inf, 0.0),
    "LogSigmoidForwardBackward0": (-math.inf, 0.0),
    "SoftplusBackward0": (0.0, math.inf),
    # the smallest values of these activations: alpha = 1 for ELU, and the minima of GELU
    # (-0.170 at x = -0.75) and SiLU (-0.278 at x = -1.28)
    "EluBackward0": (-1.0, math.inf),
    "GeluBackward0": (-0.17, math.inf),
    "SiluBackward0": (-0.279, math.inf),
}
#: Operations that move, copy or select values without changing them: their output lies where
#: their inputs' values do (the union of several inputs' ranges: a concatenation).
KEEPING = {
    "ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0", "SqueezeBackward0",
    "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "UnsqueezeBackward0",
    "SelectBackward0", "SliceBackward0", "IndexBackward0", "ExpandBackward0",
    "PermuteBackward0", "TransposeBackward0", "TBackward0", "CloneBackward0",
    "CatBackward0", "StackBackward0", "SplitBackward0", "SplitWithSizesBackward0",
    "UnbindBackward0", "MeanBackward0", "MeanBackward1", "MaxBackward0", "MaxBackward1",
    "MinBackward0", "MinBackward1", "AmaxBackward0", "AminBackward0", "ToCopyBackward0",
    "FlattenBackward0", "AsStridedBackward0", "GatherBackward0", "NarrowBackward0",
}


def reachable(output: torch.Tensor) -> Interval:
    """The values ``output`` can take, from its graph; UNBOUNDED when nothing bounds it."""
    node = output.grad_fn
    return _interval(node, MAX_DEPTH) if node is not None else UNBOUNDED


def _interval(node, depth: int) -> Interval:
    if node is None or depth == 0:
        return UNBOUNDED
    name = type(node).__name__
    if name in FIXED:
        return FIXED[name]
    inputs = [_interval(n, depth - 1) for n, _ in node.next_functions if n is not None]
    if name in ("MulBackward0", "DivBackward0") and len(inputs) == 1:
        return _scaled(name, _saved_number(node), *inputs[0])  # by a number: ``5 * sigmoid``
    if not inputs or len(inputs) < len(node.next_functions) and name not in KEEPING:
        return UNBOUNDED  # a constant or an input without gradient joins: its values unknown
    return _applied(name, node, inputs)


def _saved_number(node) -> float | None:
    """The number a tensor was multiplied or divided by, when the tensor came first."""
    first = node.next_functions[0][0]
    other = getattr(node, "_saved_other", None)
    if first is None or not isinstance(other, torch.Tensor) or other.numel() != 1:
        return None
    return float(other)


def _applied(name: str, node, inputs: list[Interval]) -> Interval:
    low, high = inputs[0]
    if name in KEEPING:
        return min(i[0] for i in inputs), max(i[1] for i in inputs)
    if name == "ReluBackward0":
        return max(low, 0.0), max(high, 0.0)
    if name == "ExpBackward0":
        return _exp(low), _exp(high)
    if name == "NegBackward0":
        return -high, -low
    if name == "AbsBackward0":
        return _abs(low, high)
    if name in ("SumBackward0", "SumBackward1"):  # of any number of values: only the sign
        return (0.0 if low >= 0 else -math.inf), (0.0 if high <= 0 else math.inf)
    if name == "SqrtBackward0":
        return math.sqrt(max(low, 0.0)), math.sqrt(max(high, 0.0))
    if name in ("AddBackward0", "SubBackward0") and len(inputs) == 2:
        return _added(name, node, inputs)
    if name in ("ClampBackward1", "HardtanhBackward0", "ClampMinBackward0"):
        return _clamped(node, low, high)
    return UNBOUNDED


def _exp(value: float) -> float:
    return 0.0 if value == -math.inf else math.inf if value > 700 else math.exp(value)


def _abs(low: float, high: float) -> Interval:
    if low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(-low, high)


def _added(name: str, node, inputs: list[Interval]) -> Interval:
    alpha = getattr(node, "_saved_alpha", 1)
    if not isinstance(alpha, (int, float)) or alpha != 1:
        return UNBOUNDED
    (a_low, a_high), (b_low, b_high) = inputs
    if name == "AddBackward0":
        return a_low + b_low, a_high + b_high
    return a_low - b_high, a_high - b_low


def _scaled(name: str, other: float | None, low: float, high: float) -> Interval:
    if other is None or other == 0 or not math.isfinite(other):
        return UNBOUNDED
    factor = other if name == "MulBackward0" else 1 / other
    ends = sorted((_times(low, factor), _times(high, factor)))
    return ends[0], ends[1]


def _times(value: float, factor: float) -> float:
    return 0.0 if value == 0 else value * factor


def _clamped(node, low: float, high: float) -> Interval:
    floor = getattr(node, "_saved_min", getattr(node, "_saved_min_val", None))
    ceiling = getattr(node, "_saved_max", getattr(node, "_saved_max_val", None))
    floor = float(floor) if isinstance(floor, (int, float)) else -math.inf
    ceiling = float(ceiling) if isinstance(ceiling, (int, float)) else math.inf
    return min(max(low, floor), ceiling), max(min(high, ceiling), floor)
