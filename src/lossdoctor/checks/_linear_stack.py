"""A model that is a stack of linear layers with nothing nonlinear between them: however deep,
it computes one linear map. The fix to test is the missing nonlinearity itself: the same
layers with a ReLU after each hidden one."""

from __future__ import annotations

import copy

from torch import nn

#: Layers that keep a stack of linear maps linear (they hold no nonlinearity).
LINEAR_COMPANIONS = (nn.Dropout, nn.Flatten, nn.Identity, nn.Unflatten)
#: Activation kinds the capture sees being computed (capture/activations.py).
NONLINEAR_KINDS = {"sigmoid", "tanh", "relu"}


def linear_layers(model: nn.Module | None, trace) -> list[str]:
    """The names of the model's Linear layers when it has two or more of them and nothing
    nonlinear anywhere (no other layer type, no activation seen in a sampled forward pass);
    [] otherwise."""
    if model is None or any(a.kind in NONLINEAR_KINDS for a in trace.activations):
        return []
    leaves = [(name, m) for name, m in model.named_modules() if name and not list(m.children())]
    if not all(isinstance(m, (nn.Linear, *LINEAR_COMPANIONS)) for _, m in leaves):
        return []
    names = [name for name, m in leaves if isinstance(m, nn.Linear)]
    return names if len(names) >= 2 else []


def with_activations(model: nn.Module, names: list[str]) -> nn.Module:
    """A copy of ``model`` with a ReLU after each of its Linear layers ``names`` but the last
    (the output layer), in place of the layer itself."""
    activated = copy.deepcopy(model)
    for name in names[:-1]:
        parent_name, _, child = name.rpartition(".")
        parent = activated.get_submodule(parent_name) if parent_name else activated
        setattr(parent, child, nn.Sequential(getattr(parent, child), nn.ReLU()))
    return activated
