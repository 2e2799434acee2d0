"""A model written as plain tensors (``x @ w + b``), widened, for the capacity experiment.

The larger model compared with the user's must differ in capacity alone: a standard
``nn.Linear`` MLP differs from a plain-tensor model in its activation and its initialization
as well, and under the user's plain SGD those weigh more than the width (a healthy plain-tensor
MLP at SGD 0.01 reached 0.37 in 300 replayed steps where a 2x1024 nn.Linear MLP reached 0.02,
and was told it was too small). So the user's own recorded program is run on wider tensors:
each hidden layer's weight matrix and bias get more units, drawn with the same mean and spread
as the user's initial ones, scaled to the new fan-in as a fan-in-scaled scheme scales them
(mean by fan_in, spread by sqrt(fan_in)), so that each layer's outputs start at the size the
user's do. The output layer keeps its outputs. Activation, output function, optimizer, rate,
steps and batches are the user's.

None is built (the reason is returned) when the trained tensors are not a chain of weight
matrices each followed by at most one bias, or when the program fails or gives another shape
once its tensors are wider (a reshape to a fixed size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lossdoctor.capture.loss_program import _refs_in
from lossdoctor.capture.loss_tape import Parameter
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensor_program import TensorModel, transposed_names
from lossdoctor.sandbox import isolated


@dataclass
class Layer:
    weight: str  # the trained tensor's name ("tensors.0")
    bias: str | None
    fan_in: int
    units: int


def layers_of(model: TensorModel) -> list[Layer] | str:
    """The model's layers in the order its program uses them; or why it is no such chain."""
    tensors = dict(model.named_parameters())
    transposed = transposed_names(model.program)
    layers: list[Layer] = []
    for name in _in_order_of_use(model):
        tensor = tensors[name]
        if tensor.dim() == 2:
            fan_in, units = tensor.shape[::-1] if name in transposed else tensor.shape
            layers.append(Layer(name, None, int(fan_in), int(units)))
        elif tensor.dim() == 1 and layers and layers[-1].bias is None \
                and tensor.numel() == layers[-1].units:
            layers[-1].bias = name
        else:
            return "your model's tensors are not weight matrices each followed by a bias"
    if not layers or any(a.units != b.fan_in for a, b in zip(layers, layers[1:])):
        return "your model's weight matrices do not form a chain of layers"
    return layers


def _in_order_of_use(model: TensorModel) -> list[str]:
    names: list[str] = []
    for call in model.program.calls:
        if call is None:
            continue
        for ref in _refs_in((call.args, call.kwargs)):
            if isinstance(ref, Parameter) and ref.name not in names:
                names.append(ref.name)
    return names


def widened_tensors(model: TensorModel, batch: Batch, width: int,
                    seed: int = 0) -> tuple[TensorModel, list] | str:
    """A copy of ``model`` whose hidden layers have ``width`` units, with the changes made
    ((layer number, old units, new units) each); or why none is built."""
    layers = layers_of(model)
    if isinstance(layers, str):
        return layers
    tensors = dict(model.named_parameters())
    transposed = transposed_names(model.program)
    new = {name: t.detach().clone() for name, t in tensors.items()}
    fan_in = layers[0].fan_in
    with isolated(seed):
        for index, layer in enumerate(layers):
            units = layer.units if index == len(layers) - 1 else width
            shape = (units, fan_in) if layer.weight in transposed else (fan_in, units)
            new[layer.weight] = _like(tensors[layer.weight], shape, layer.fan_in / fan_in)
            if layer.bias is not None:
                new[layer.bias] = _like(tensors[layer.bias], (units,), 1.0)
            fan_in = units
    ordered = [new[name] for name, _ in model.named_parameters()]
    wider = TensorModel(ordered, model.program)
    problem = _runs_alike(model, wider, batch)
    if problem:
        return problem
    changes = [(index + 1, layer.units, width) for index, layer in enumerate(layers[:-1])]
    return wider, changes


def _like(tensor: torch.Tensor, shape: tuple, fan_ratio: float) -> torch.Tensor:
    """A tensor of ``shape`` drawn normal with ``tensor``'s mean and spread, scaled by the old
    over the new fan-in (mean by it, spread by its square root)."""
    values = tensor.detach().float()
    spread = float(values.std()) if values.numel() > 1 else 0.0
    mean = float(values.mean()) * fan_ratio
    drawn = torch.randn(shape) * (spread * math.sqrt(fan_ratio)) + mean
    return drawn.to(tensor.dtype).requires_grad_(tensor.requires_grad)


def _runs_alike(model: TensorModel, wider: TensorModel, batch: Batch) -> str:
    """Why the wider copy cannot stand in for the user's model on ``batch``; "" when it can."""
    try:
        with torch.no_grad():
            before = model(*batch.args, **batch.kwargs)
            after = wider(*batch.args, **batch.kwargs)
    except (RuntimeError, ValueError, IndexError) as error:
        return f"your model's computation does not run on wider tensors ({error})"
    if not (isinstance(after, torch.Tensor) and after.shape == before.shape):
        return "your model's computation gives another shape on wider tensors"
    return ""
