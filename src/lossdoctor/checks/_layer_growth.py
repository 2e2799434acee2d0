"""How the signal grows from layer to layer at the start of training, before any update.

Measured on copies of the untrained model, on a few captured training batches: the size (root
mean square) of each dense or convolutional layer's output (or product by a weight matrix of a
model written as plain tensors), in the order the forward pass calls them, and the gradient
norm over all parameters after one backward pass of the user's loss.
When each layer's output is larger than the one before, over many layers in a row, the forward
signal grows geometrically with depth, and so does the gradient on its way back (He et al.,
2015, sec. 2.2: the variance is multiplied by ``fan_in * Var(w) / 2`` at every ReLU layer); a
standard initialization keeps that factor near 1 or below.
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from lossdoctor.sandbox import isolated

#: The calls whose outputs are measured, when one of their arguments is a weight matrix of
#: the model (two or more dimensions): those that set the scale from layer to layer.
LAYER_CALLS = frozenset({
    F.linear, F.bilinear, F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d,
    F.conv_transpose3d, torch.matmul, torch.mm, torch.bmm, torch.addmm, torch.einsum,
    torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__, torch.Tensor.mm,
})
#: Training batches the start is measured on: the first-step figure of a run is one batch; a
#: few keep one odd batch from deciding.
BATCHES = 4


@dataclass
class StartSignal:
    """The untrained model's signal: each weight layer's output size, first to last, and the
    gradient norm (inf when the loss or a gradient is not finite)."""

    layer_sizes: list[float]
    gradient_norm: float

    def longest_growth(self) -> tuple[int, float]:
        """The longest run of successive layers each larger than the one before: (how many
        steps up in a row, the factor from its first layer to its last)."""
        best, best_factor = 0, 1.0
        start = 0
        sizes = self.layer_sizes
        for i in range(1, len(sizes) + 1):
            if i < len(sizes) and sizes[i] > sizes[i - 1] and math.isfinite(sizes[i]):
                continue
            steps = i - 1 - start
            if steps > best and sizes[start] > 0:
                best, best_factor = steps, sizes[i - 1] / sizes[start]
            start = i
        return best, best_factor


def start_signal(replayer, model: nn.Module, batches) -> StartSignal:
    """The signal of ``model`` (left untouched: a copy is measured) on ``batches``."""
    model = copy.deepcopy(model).train()
    weights = {id(p) for p in model.parameters() if p.dim() >= 2}
    calls: list[list[float]] = []
    norms = []
    with isolated(0):
        for batch in batches[:BATCHES]:
            model.zero_grad(set_to_none=True)
            sizes = _LayerOutputs(weights)
            with sizes:
                loss = replayer.loss(model, batch)
            loss.backward()
            calls.append(sizes.seen)
            norms.append(_gradient_norm(model))
    layers = min((len(seen) for seen in calls), default=0)
    layer_sizes = [statistics.median(seen[i] for seen in calls) for i in range(layers)]
    return StartSignal(layer_sizes, statistics.median(norms) if norms else math.nan)


class _LayerOutputs(TorchFunctionMode):
    """The size of each output of a weight layer, in call order: a dense or convolutional call,
    or a matrix product by one of the model's weight matrices (a model written as plain tensors,
    ``x @ w``)."""

    def __init__(self, weights: set[int]) -> None:
        super().__init__()
        self.weights = weights
        self.seen: list[float] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if func in LAYER_CALLS and isinstance(result, torch.Tensor) and any(
                id(a) in self.weights for a in args):
            self.seen.append(float(result.detach().float().pow(2).mean().sqrt()))
        return result


def _gradient_norm(model: nn.Module) -> float:
    squares = [float(p.grad.detach().float().pow(2).sum()) for p in model.parameters()
               if p.grad is not None]
    total = sum(squares)
    return math.sqrt(total) if math.isfinite(total) else math.inf
