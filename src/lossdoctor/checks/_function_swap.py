"""Replays with activation *functions* replaced: F.relu, torch.tanh, ``x.clamp(min=0)`` written
in a forward, or in a model written as plain tensors, have no module to swap. A TorchFunctionMode
entered around the copy's forward calls every torch function as it is, but an activation of a
kind the swap names through its replacement (PyTorch's own dispatch: nothing of the user's
code is rewritten)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from lossdoctor.capture.activations import activation_kind

#: An activation kind ("relu", "sigmoid", "tanh") -> what computes it instead, from its input
#: and whether the call was in place.
Replacements = dict[str, Callable[[torch.Tensor, bool], torch.Tensor]]


class FunctionSwap(TorchFunctionMode):
    """Calls every torch function as it is, but the activations ``replacements`` names."""

    def __init__(self, replacements: Replacements,
                 keep: Callable[[torch.Tensor], bool] = lambda x: False) -> None:
        super().__init__()
        self.replacements = replacements
        self.keep = keep  # an input whose activation stays as written (a model's output)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        replace = None if func is F.relu6 else self.replacements.get(
            activation_kind(func, args, kwargs))
        pre = args[0] if args else kwargs.get("input")
        if replace is None or not isinstance(pre, torch.Tensor) or self.keep(pre):
            return func(*args, **kwargs)
        in_place = kwargs.get("inplace", False) or getattr(func, "__name__", "").endswith("_")
        return replace(pre, in_place)


class WithFunctionSwap(nn.Module):
    """``inner``, whose forward runs inside a FunctionSwap."""

    def __init__(self, inner: nn.Module, replacements: Replacements,
                 keep: Callable[[torch.Tensor], bool] = lambda x: False) -> None:
        super().__init__()
        self.inner = inner
        self.replacements, self.keep = replacements, keep

    def forward(self, *args, **kwargs):
        with FunctionSwap(self.replacements, self.keep):
            return self.inner(*args, **kwargs)
