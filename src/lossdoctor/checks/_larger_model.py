"""A larger model of the same family as the user's, for the capacity experiment.

Only one family is built today: MLPs and linear models on flat inputs (every layer with
parameters an ``nn.Linear``, the input a 2-D tensor). For those, the larger model is a ReLU MLP
with the same input and output sizes, wider and deeper than the user's, ending in what the
loss expects (a sigmoid for BCELoss, a log-softmax for NLLLoss, raw outputs otherwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.losses import output_layers
from lossdoctor.sandbox import isolated

#: Hidden width: this many times the user's widest layer, at least MIN_WIDTH, at most MAX_WIDTH
#: (the cap keeps the experiment within its time budget on a CPU).
WIDTH_FACTOR = 4
MIN_WIDTH = 64
MAX_WIDTH = 1024
MIN_HIDDEN_LAYERS = 2
MAX_HIDDEN_LAYERS = 4


@dataclass
class LargerModel:
    model: nn.Module
    width: int
    hidden_layers: int
    output: str  # the final layer's name ("Sigmoid", "LogSoftmax"), "" for raw outputs

    def describe(self) -> str:
        """Its shape as a practitioner says it: 'a 2x64 ReLU MLP'."""
        ending = f" with a {self.output} output" if self.output else ""
        return f"a {self.hidden_layers}x{self.width} ReLU MLP{ending}"


def why_not_flat_mlp(model: nn.Module, batch: Batch) -> str:
    """Why no larger model of the user's family can be built here; "" when it can."""
    kinds = sorted({type(m).__name__ for m in model.modules() if _own_parameters(m)})
    if any(kind != "Linear" for kind in kinds):
        return f"your model has {', '.join(k for k in kinds if k != 'Linear')} layers"
    if not kinds:
        return "your model has no nn.Linear layer"
    inputs = _flat_input(batch)
    if inputs is None:
        return "your model's input is not a single 2-D tensor of features"
    return ""


def build_larger_mlp(
    model: nn.Module, batch: Batch, prediction_shape: tuple, loss_name: str, seed: int = 0
) -> LargerModel:
    """A fresh ReLU MLP, wider and deeper than ``model``, with the same input and output sizes.

    Build it only where :func:`why_not_flat_mlp` returns "". Its initial weights depend on
    ``seed`` only; the caller's random state is left as it was.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    widest = max(m.out_features for m in linears)
    width = min(max(WIDTH_FACTOR * widest, MIN_WIDTH), MAX_WIDTH)
    hidden = min(max(len(linears), MIN_HIDDEN_LAYERS), MAX_HIDDEN_LAYERS)
    features = _flat_input(batch).shape[1]
    outputs = _output_size(prediction_shape)
    ending = output_layers(loss_name)
    with isolated(seed):
        layers = _mlp_layers(features, width, hidden, outputs) + ending
        larger = nn.Sequential(*layers).to(linears[0].weight.dtype)
    return LargerModel(larger, width, hidden, type(ending[-1]).__name__ if ending else "")


def _output_size(prediction_shape: tuple) -> int:
    return math.prod(prediction_shape) if prediction_shape else 1


def _mlp_layers(features: int, width: int, hidden: int, outputs: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for size_in in [features] + [width] * (hidden - 1):
        layers += [nn.Linear(size_in, width), nn.ReLU()]
    return layers + [nn.Linear(width, outputs)]


def _own_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def _flat_input(batch: Batch) -> torch.Tensor | None:
    """The batch's only input when it is a 2-D floating-point tensor (rows x features)."""
    if len(batch.args) != 1 or batch.kwargs:
        return None
    inputs = batch.args[0]
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2:
        return None
    return inputs if inputs.is_floating_point() else None
