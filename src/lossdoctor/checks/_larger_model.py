"""A larger model of the same family as the user's, for the capacity experiment.

Two families are built:

- MLPs and linear models on flat inputs (every layer with parameters an ``nn.Linear``, the
  input a 2-D tensor, or a larger one the model flattens: its first layer takes every value of
  a row): a ReLU MLP with the same input and output sizes, wider and deeper.
- Convolutional networks on images or channel-first sequences (``nn.Conv2d`` on a 4-D input,
  ``nn.Conv1d`` on a 3-D one, with only convolutions, linear layers and normalization layers
  holding parameters): a standard two-block ReLU CNN (convolution, pooling, convolution, global
  average pooling, linear head) with more channels than the user's widest convolution.

Either ends in what the loss expects (a sigmoid for BCELoss, a log-softmax for NLLLoss, raw
outputs otherwise). A model given its batch whole (a dict of inputs and target, as a
``Dataset`` returning dicts makes it) gets a larger model that reads the batch's one input
tensor where the user's model reads it (:class:`ReadsInput`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.checks._inputs import at, inputs_without_target
from lossdoctor.layers import own_parameters
from lossdoctor.losses import output_layers
from lossdoctor.sandbox import isolated

#: Hidden width: this many times the user's widest layer, at least MIN_WIDTH, at most MAX_WIDTH
#: (the cap keeps the experiment within its time budget on a CPU).
WIDTH_FACTOR = 4
MIN_WIDTH = 64
MAX_WIDTH = 1024
MIN_HIDDEN_LAYERS = 2
MAX_HIDDEN_LAYERS = 4
#: Channels of the larger CNN's first block (the second has twice as many): this many times the
#: user's widest convolution, within bounds that keep a 300-step replay to a few CPU seconds.
CHANNEL_FACTOR = 2
MIN_CHANNELS = 16
MAX_CHANNELS = 64
#: Layers with parameters a CNN of the user's family may hold besides its convolutions.
CNN_COMPANIONS = ("Linear", "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm")
CONVOLUTIONS = {3: nn.Conv1d, 4: nn.Conv2d}
POOLS = {3: (nn.MaxPool1d, nn.AdaptiveAvgPool1d), 4: (nn.MaxPool2d, nn.AdaptiveAvgPool2d)}


@dataclass
class LargerModel:
    model: nn.Module
    width: int
    hidden_layers: int
    output: str  # the final layer's name ("Sigmoid", "LogSoftmax"), "" for raw outputs
    family: str = "MLP"  # or "CNN", or "wider" (the user's model, widened: ._wider_copy)
    changes: tuple = ()  # for "wider": (layer name, old width, new width) of each widened one

    def describe(self) -> str:
        """Its shape as a practitioner says it: 'a 2x64 ReLU MLP', 'a ReLU CNN with 16 and
        32 channels', 'your model with wider hidden layers (rnn: 1 -> 32 units)'."""
        if self.family == "wider":
            return f"your model with wider hidden layers ({self.widened()})"
        ending = f" with a {self.output} output" if self.output else ""
        if self.family == "CNN":
            return f"a ReLU CNN with {self.width} and {2 * self.width} channels{ending}"
        return f"a {self.hidden_layers}x{self.width} ReLU MLP{ending}"

    def widened(self) -> str:
        return ", ".join(f"{name}: {old} -> {new} units" for name, old, new in self.changes)


def why_not_larger(model: nn.Module, batch: Batch) -> str:
    """Why no larger model of the user's family (MLP or CNN) can be built; "" when it can."""
    if not why_not_cnn(model, batch):
        return _already_as_wide(_widest_convolution(model), _cnn_width, "channels")
    return why_not_flat_mlp(model, batch) or _already_as_wide(
        _widest_linear(model), _mlp_width, "units")


def _already_as_wide(widest: int, width_for, unit: str) -> str:
    """Why the larger model would not be larger: the width cap (which keeps the experiment's
    cost bounded) is not above the user's widest layer. "" when it is."""
    if width_for(widest) > widest:
        return ""
    return (f"your model's widest layer already has {widest:,} {unit}, as many as the largest "
            "model this test trains")


def _widest_linear(model: nn.Module) -> int:
    """The most units of a layer: an nn.Linear's out_features, or the columns of a weight
    matrix a plain-tensor model multiplies by (``x @ w``: one column per unit)."""
    if isinstance(model, TensorModel):
        return max(w.shape[1] for w in _weight_matrices(model))
    return max(m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def _widest_convolution(model: nn.Module) -> int:
    return max(m.out_channels for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd))


def _mlp_width(widest: int) -> int:
    return min(max(WIDTH_FACTOR * widest, MIN_WIDTH), MAX_WIDTH)


def _cnn_width(widest: int) -> int:
    return min(max(CHANNEL_FACTOR * widest, MIN_CHANNELS), MAX_CHANNELS)


def build_larger(
    model: nn.Module, batch: Batch, prediction_shape: tuple, loss_name: str, seed: int = 0
) -> LargerModel:
    """The larger model of the user's family; only where :func:`why_not_larger` gives ""."""
    if not why_not_cnn(model, batch):
        return build_larger_cnn(model, batch, prediction_shape, loss_name, seed)
    return build_larger_mlp(model, batch, prediction_shape, loss_name, seed)


def clamped_at_zero(larger: LargerModel) -> LargerModel:
    """``larger`` with a ReLU after its output, as the user's model has one: compared without
    it, the larger model would differ in the clamp as well as in size (a ReLU after a
    classifier's outputs scored by a squared error, Nielsen's network with every sigmoid made a
    ReLU: the same 30 hidden units without it reach 100% accuracy, a 1024-unit one with it 8%)."""
    output = f"{larger.output} and ReLU" if larger.output else "ReLU"
    return replace(larger, model=ClampedAtZero(larger.model), output=output)


class ClampedAtZero(nn.Module):
    """A model whose outputs go through a ReLU, whatever it is called with."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *args, **kwargs):
        return torch.relu(self.model(*args, **kwargs))


def why_not_cnn(model: nn.Module, batch: Batch) -> str:
    """Why the user's model is not a CNN this module can enlarge; "" when it is."""
    inputs = _single_float_input(batch)
    if inputs is None or inputs.dim() not in CONVOLUTIONS:
        return "your model's input is not one image or channel-first sequence tensor"
    convolution = CONVOLUTIONS[inputs.dim()]
    kinds = {type(m).__name__ for m in model.modules() if own_parameters(m)}
    if convolution.__name__ not in kinds:
        return f"your model has no {convolution.__name__} layer"
    others = sorted(kinds - {convolution.__name__, *CNN_COMPANIONS})
    return f"your model has {_layer_words(others)} layers" if others else ""


def build_larger_cnn(
    model: nn.Module, batch: Batch, prediction_shape: tuple, loss_name: str, seed: int = 0
) -> LargerModel:
    """A fresh two-block ReLU CNN with more channels than ``model``'s widest convolution."""
    inputs = _single_float_input(batch)
    convolutions = [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    width = _cnn_width(_widest_convolution(model))
    ending = output_layers(loss_name)
    with isolated(seed):
        layers = (_cnn_layers(inputs, width, _output_size(prediction_shape)) + ending
                  + _as_shaped(prediction_shape))
        larger = ReadsInput(input_path(batch), layers).to(convolutions[0].weight.dtype)
    return LargerModel(larger, width, 2, type(ending[-1]).__name__ if ending else "", "CNN")


def _cnn_layers(inputs: torch.Tensor, width: int, outputs: int) -> list[nn.Module]:
    convolution = CONVOLUTIONS[inputs.dim()]
    local_pool, global_pool = POOLS[inputs.dim()]
    return [
        convolution(inputs.shape[1], width, 3, padding=1), nn.ReLU(), local_pool(2),
        convolution(width, 2 * width, 3, padding=1), nn.ReLU(), global_pool(1),
        nn.Flatten(), nn.Linear(2 * width, outputs),
    ]


#: PyTorch's own helper classes inside a layer, named in a message by the layer a user wrote
#: (MultiheadAttention's output projection is a NonDynamicallyQuantizableLinear).
INTERNAL_KINDS = {"NonDynamicallyQuantizableLinear"}


def _layer_words(kinds) -> str:
    """The kinds of layer as a user knows them, in a sentence."""
    return ", ".join(k for k in kinds if k not in INTERNAL_KINDS)


def why_not_flat_mlp(model: nn.Module, batch: Batch) -> str:
    """Why no larger model of the user's family can be built here; "" when it can."""
    if isinstance(model, TensorModel):
        return _why_not_tensor_mlp(model, batch)
    kinds = sorted({type(m).__name__ for m in model.modules() if own_parameters(m)})
    if any(kind != "Linear" for kind in kinds):
        return f"your model has {_layer_words([k for k in kinds if k != 'Linear'])} layers"
    if not kinds:
        return "your model has no nn.Linear layer"
    if _flat_input(batch) is None and not _flattened_by(model, batch):
        return ("your model's input is not a single 2-D tensor of features, nor one your "
                "model flattens")
    return ""


def _flattened_by(model: nn.Module, batch: Batch) -> bool:
    """Whether the model's first Linear layer takes every value of an input row at once (an MLP
    on images or sequences that flattens them first)."""
    inputs = _single_float_input(batch)
    if inputs is None or inputs.dim() < 3:
        return False
    return _weight_matrices(model)[0].shape[1] == math.prod(inputs.shape[1:])


def _why_not_tensor_mlp(model: TensorModel, batch: Batch) -> str:
    """A model written as plain tensors is an MLP's when its tensors are weight matrices and
    bias vectors (``x @ w + b``) and its input is a table of features."""
    if any(p.dim() > 2 for p in model.parameters()):
        return "your model's tensors include some of 3 or more dimensions (not an MLP's)"
    if not _weight_matrices(model):
        return "your model has no weight matrix"
    if _flat_input(batch) is None:
        return "your model's input is not a single 2-D tensor of features"
    return ""


def _weight_matrices(model: nn.Module) -> list[torch.Tensor]:
    """The weights of a model's layers: its nn.Linear's, or a plain-tensor model's matrices."""
    if isinstance(model, TensorModel):
        return [p for p in model.parameters() if p.dim() == 2]
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def build_larger_mlp(
    model: nn.Module, batch: Batch, prediction_shape: tuple, loss_name: str, seed: int = 0
) -> LargerModel:
    """A fresh ReLU MLP, wider and deeper than ``model``, with the same input and output sizes.

    Build it only where :func:`why_not_flat_mlp` returns "". Its initial weights depend on
    ``seed`` only; the caller's random state is left as it was.
    """
    linears = _weight_matrices(model)
    width = _mlp_width(_widest_linear(model))
    hidden = min(max(len(linears), MIN_HIDDEN_LAYERS), MAX_HIDDEN_LAYERS)
    inputs = _single_float_input(batch)
    flatten = [nn.Flatten()] if inputs.dim() > 2 else []
    outputs = _output_size(prediction_shape)
    ending = output_layers(loss_name)
    with isolated(seed):
        layers = (flatten + _mlp_layers(inputs[0].numel(), width, hidden, outputs) + ending
                  + _as_shaped(prediction_shape))
        larger = ReadsInput(input_path(batch), layers).to(linears[0].dtype)
    return LargerModel(larger, width, hidden, type(ending[-1]).__name__ if ending else "")


def _output_size(prediction_shape: tuple) -> int:
    return math.prod(prediction_shape) if prediction_shape else 1


def _as_shaped(prediction_shape: tuple) -> list[nn.Module]:
    """``nn.Flatten(0)`` for a user's model whose output is one number a row (it ends in
    ``nn.Flatten(0)`` or ``.squeeze(1)``), where the larger model's last Linear layer gives a
    column: scored by a loss written by hand, a column of outputs broadcasts against the
    targets, every row against every target, and cannot learn (dev linear_model 355100: a 2x64
    ReLU MLP flat at the constant guess, 0.692 against 0.693, where the user's twin with one
    GELU layer reached 0.27)."""
    return [nn.Flatten(0)] if tuple(prediction_shape) == () else []


def _mlp_layers(features: int, width: int, hidden: int, outputs: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for size_in in [features] + [width] * (hidden - 1):
        layers += [nn.Linear(size_in, width), nn.ReLU()]
    return layers + [nn.Linear(width, outputs)]



def _flat_input(batch: Batch) -> torch.Tensor | None:
    """The batch's only input when it is a 2-D floating-point tensor (rows x features)."""
    inputs = _single_float_input(batch)
    return inputs if inputs is not None and inputs.dim() == 2 else None


def _single_float_input(batch: Batch) -> torch.Tensor | None:
    """The batch's only input when it is a floating-point tensor."""
    path = input_path(batch)
    return None if path is None else at((batch.args, batch.kwargs), path)


def input_path(batch: Batch) -> tuple | None:
    """Where the batch's one input tensor sits in (args, kwargs) (:mod:`._inputs`); None when
    the model is given more than one tensor besides the target, or one that is not
    floating-point (token ids)."""
    inputs = inputs_without_target(batch)
    if len(inputs) != 1 or not inputs[0][1].is_floating_point():
        return None
    return inputs[0][0]


class ReadsInput(nn.Sequential):
    """Layers run on the input found at ``path`` in the model's (args, kwargs): called as the
    user's model is called, with the user's batch, whatever its structure."""

    def __init__(self, path: tuple, layers: list[nn.Module]) -> None:
        super().__init__(*layers)
        self.path = path

    def forward(self, *args, **kwargs):
        return super().forward(at((args, kwargs), self.path))
