"""A model's layers as the experiments see them: modules holding parameters of their own, in the
order a forward pass first calls them."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lossdoctor.sandbox import isolated


def own_parameters(module: nn.Module) -> bool:
    """Whether ``module`` holds parameters itself (not only through its submodules)."""
    return any(True for _ in module.parameters(recurse=False))


def called_in_order(model: nn.Module, forward: Callable[[], object]) -> list[tuple[str, nn.Module]]:
    """(name, module) of ``model``'s modules with parameters of their own ("" for the model
    itself), in the order ``forward()`` (a pass through ``model``, without gradients) first
    calls them."""
    called: list[tuple[str, nn.Module]] = []
    hooks = [m.register_forward_pre_hook(lambda *_, n=n, m=m: called.append((n, m)))
             for n, m in model.named_modules() if own_parameters(m)]
    try:
        with torch.no_grad(), isolated(0):
            forward()
    finally:
        for hook in hooks:
            hook.remove()
    return list(dict.fromkeys(called))
