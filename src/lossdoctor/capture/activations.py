"""See activation functions however they are called: nn.ReLU modules, F.relu, torch.sigmoid,
tensor.tanh(). A TorchFunctionMode is entered only for sampled forward passes; it calls each
function unchanged and hands activation outputs to a callback."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

ACTIVATIONS: dict[Callable, str] = {
    torch.sigmoid: "sigmoid",
    torch.Tensor.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    torch.tanh: "tanh",
    torch.Tensor.tanh: "tanh",
    F.tanh: "tanh",
    torch.relu: "relu",
    torch.Tensor.relu: "relu",
    F.relu: "relu",
    F.relu6: "relu",
}


class ActivationSpy(TorchFunctionMode):
    """Calls every torch function as it is; reports the outputs of activation functions."""

    def __init__(self, on_activation: Callable[[str, torch.Tensor], None]) -> None:
        super().__init__()
        self.on_activation = on_activation

    def __torch_function__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        kind = ACTIVATIONS.get(func)
        if kind is not None and isinstance(output, torch.Tensor):
            self.on_activation(kind, output)
        return output
