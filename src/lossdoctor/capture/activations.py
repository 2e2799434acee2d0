"""See activation functions however they are called: nn.ReLU modules, F.relu, torch.sigmoid,
tensor.tanh(), ``x.clamp(min=0)``. A TorchFunctionMode is entered only for sampled forward
passes; it calls each function unchanged and hands activation outputs to a callback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

ACTIVATIONS: dict[Callable, str] = {
    torch.sigmoid: "sigmoid",
    torch.Tensor.sigmoid: "sigmoid",
    torch.Tensor.sigmoid_: "sigmoid",
    F.sigmoid: "sigmoid",
    torch.tanh: "tanh",
    torch.Tensor.tanh: "tanh",
    torch.Tensor.tanh_: "tanh",
    F.tanh: "tanh",
    torch.relu: "relu",
    torch.relu_: "relu",
    torch.Tensor.relu: "relu",
    torch.Tensor.relu_: "relu",
    F.relu: "relu",
    F.relu_: "relu",
    F.relu6: "relu",
}
#: A softmax, however called (``F.softmax``, ``torch.softmax``, ``scores.softmax(dim=-1)``,
#: nn.Softmax through F.softmax): its output is reported as SOFTMAX with the dimension it
#: normalizes last, so that a row is one distribution (capture.stats reads its largest value).
SOFTMAXES = {torch.softmax, torch.Tensor.softmax, F.softmax, torch.special.softmax}
SOFTMAX = "softmax"
#: Clamps that are a ReLU when their lower bound is 0 and they have no upper one.
CLAMPS = {torch.clamp, torch.Tensor.clamp, torch.Tensor.clamp_, torch.clamp_min,
          torch.Tensor.clamp_min, torch.Tensor.clamp_min_}
#: Where torch's and lossdoctor's own frames live: a call site outside them is the user's.
_NOT_USERS = (os.path.dirname(torch.__file__) + os.sep,
              os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep)


def activation_kind(func, args, kwargs) -> str | None:
    """"relu", "sigmoid" or "tanh" when ``func`` called so is that activation, else None."""
    kind = ACTIVATIONS.get(func)
    if kind is None and func in CLAMPS:
        return "relu" if _clamps_at_zero(func, args, kwargs or {}) else None
    return kind


def _clamps_at_zero(func, args, kwargs) -> bool:
    low = args[1] if len(args) > 1 else kwargs.get("min")
    high = args[2] if len(args) > 2 else kwargs.get("max")
    return type(low) in (int, float) and low == 0 and high is None


def call_site() -> str:
    """The user's line that called the function being watched: "train.py:42"."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_NOT_USERS):
        frame = frame.f_back
    if frame is None:
        return "an unknown line"
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class ActivationSpy(TorchFunctionMode):
    """Calls every torch function as it is; reports the outputs of activation functions."""

    def __init__(self, on_activation: Callable[[str, torch.Tensor], None]) -> None:
        super().__init__()
        self.on_activation = on_activation

    def __torch_function__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        kind = activation_kind(func, args, kwargs)
        if kind is not None and isinstance(output, torch.Tensor):
            self.on_activation(kind, output)
        elif func in SOFTMAXES and isinstance(output, torch.Tensor) and output.dim() > 0:
            self.on_activation(SOFTMAX, output.movedim(_softmax_dim(output, args, kwargs), -1))
        return output


def _softmax_dim(output: torch.Tensor, args, kwargs) -> int:
    """The dimension a softmax call normalized: given, or torch's implicit choice (0 for 0-,
    1- and 3-d inputs, else 1) when it is None."""
    dim = args[1] if len(args) > 1 else (kwargs or {}).get("dim")
    if isinstance(dim, int):
        return dim
    return 0 if output.dim() in (0, 1, 3) else 1
