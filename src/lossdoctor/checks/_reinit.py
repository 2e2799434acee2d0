"""The user's model re-initialized the PyTorch default way, for checks that replay from it."""

from __future__ import annotations

import copy
import math

from torch import nn

from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.curves import validation_curves
from lossdoctor.experiments import Plan
from lossdoctor.measured_consequences import NEVER_BELOW_START
from lossdoctor.sandbox import isolated
from lossdoctor.symptom import NEAR_CHANCE_SHARE


def default_init(model: nn.Module, seed: int = 0) -> nn.Module | None:
    """A copy of the model with every layer's reset_parameters called (seeded by ``seed``),
    then the private ``_reset_parameters`` of the torch modules that keep their own init
    there (see _constructor_inits); None when no layer has either."""
    fresh = copy.deepcopy(model)
    layers = [m for m in fresh.modules() if callable(getattr(m, "reset_parameters", None))]
    owners = _constructor_inits(fresh)
    if not (layers or owners):
        return None
    with isolated(seed):
        for layer in layers:
            layer.reset_parameters()
        for owner in owners:
            owner._reset_parameters()
    return fresh


def _constructor_inits(model: nn.Module) -> list[nn.Module]:
    """The torch modules without reset_parameters whose constructor initializes their own
    parameters in ``_reset_parameters``, children before parents, as their constructors run it
    (after their sublayers are built): nn.MultiheadAttention's in-projection (xavier_uniform_,
    which no reset_parameters reaches: a transformer encoder's weights drawn N(0, 1) kept their
    attention weights at N(0, 1) in the "default" copy) and nn.Transformer's xavier init."""
    return [m for m in reversed(list(model.modules()))
            if isinstance(m, (nn.MultiheadAttention, nn.Transformer))
            and not callable(getattr(m, "reset_parameters", None))]


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


def never_below_start(case, default_replay) -> dict[str, float]:
    """``{NEVER_BELOW_START: 1.0}`` when the run's best validation loss never got clearly below
    where the default-initialized model starts (the replay from it, before its first step):
    above it, or below by less than NEAR_CHANCE_SHARE of it, the symptom's bar for a run that
    learned next to nothing. A gap between the training loss and such a validation loss is no
    model memorizing what it could have generalized: nothing the run fit carried over, and the
    start that held it is the cause (lossdoctor.measured_consequences.declares). {} otherwise,
    or when either is not known."""
    start = getattr(default_replay, "start_validation", math.nan)
    passes = [loss for _, loss in validation_curves(case.trace)[0] if math.isfinite(loss)]
    if not passes or not math.isfinite(start) or start <= 0:
        return {}
    best = min(passes)
    return {NEVER_BELOW_START: 1.0} if best >= (1 - NEAR_CHANCE_SHARE) * start else {}
