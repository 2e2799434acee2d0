"""The user's model re-initialized the PyTorch default way, for checks that replay from it."""

from __future__ import annotations

import copy

from torch import nn

from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.experiments import Plan
from lossdoctor.sandbox import isolated


def default_init(model: nn.Module, seed: int = 0) -> nn.Module | None:
    """A copy of the model with every layer's reset_parameters called (seeded by ``seed``);
    None when no layer has one."""
    fresh = copy.deepcopy(model)
    layers = [m for m in fresh.modules() if callable(getattr(m, "reset_parameters", None))]
    if not layers:
        return None
    with isolated(seed):
        for layer in layers:
            layer.reset_parameters()
    return fresh


def default_init_replay(case, default: nn.Module):
    """The user's training replayed from ``default`` (default_init of the initial model), once
    per case: bad_init and exploding_gradients both compare the run's start with it."""
    return case.shared("replay.default_init", lambda: case.replayer.replay(
        Plan(model=copy.deepcopy(default), steps=REPLAY_STEPS)))


def initialization_name(model: nn.Module) -> str:
    """The initialization default_init gives ``model``, in words."""
    if isinstance(model, TensorModel):
        return TensorModel.INITIALIZATION
    return "PyTorch's default initialization"
