"""The initialization that suits a model's hidden activation, for checks that replay from it.

PyTorch's default init of a Linear or Conv layer (``kaiming_uniform_`` with ``a=sqrt(5)``) draws
weights of std 1/sqrt(3 fan_in): each layer multiplies the signal's scale by about 0.58, which a
ReLU stack's next layer or a normalization makes up for, but a stack of tanh layers, near 0 a
linear map of slope 1, does not: over 12 layers the signal, and the error on its way back,
shrink about 2.9 orders of magnitude (0.58^12). The init that keeps their scale is Xavier/Glorot
(Glorot and Bengio, 2010) with the activation's gain, ``nn.init.calculate_gain``: 5/3 for tanh,
1 for sigmoid; He (kaiming) for ReLU (He et al., 2015), where the gain is sqrt(2).
"""

from __future__ import annotations

import copy

from torch import nn

from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._reinit import default_init, initialization_name
from lossdoctor.experiments import Plan
from lossdoctor.sandbox import isolated

#: Hidden activations whose init is Xavier with their gain.
SQUASHING_KINDS = ("sigmoid", "tanh")
#: Layers re-initialized: dense and convolutional ones (a recurrent layer keeps its own init).
WEIGHT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


def hidden_activation(trace) -> str | None:
    """The one kind of hidden activation the run's sampled passes saw ("sigmoid", "tanh" or
    "relu", on more than one unit: not a binary output's sigmoid); None for none or a mix."""
    kinds = {a.kind for a in trace.activations
             if a.kind in (*SQUASHING_KINDS, "relu") and a.units > 1}
    return kinds.pop() if len(kinds) == 1 else None


def suited_squashing(trace) -> str | None:
    """hidden_activation when it is sigmoid or tanh, else None."""
    kind = hidden_activation(trace)
    return kind if kind in SQUASHING_KINDS else None


def suited_init(model: nn.Module, kind: str, seed: int = 0) -> nn.Module | None:
    """A copy of ``model`` at the default init (_reinit.default_init), its dense and
    convolutional weights (a plain-tensor model's matrices) then drawn Xavier-normal with
    ``kind``'s gain, their biases zero; None when default_init gives none."""
    fresh = default_init(model, seed)
    if fresh is None:
        return None
    gain = nn.init.calculate_gain(kind)
    with isolated(seed):
        for weight, bias in _weights_and_biases(fresh):
            nn.init.xavier_normal_(weight, gain=gain)
            if bias is not None:
                nn.init.zeros_(bias)
    return fresh


def _weights_and_biases(model: nn.Module) -> list:
    """Each weight to draw and its bias (None: none, or already zero): a plain-tensor model's
    matrices (default_init zeroed its vectors), or each dense and convolutional layer's."""
    if isinstance(model, TensorModel):
        return [(t, None) for t in model.tensors if t.dim() == 2]
    return [(m.weight, m.bias) for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]


def suited_init_name(kind: str) -> str:
    """How suited_init initializes, in words for a report (the fix spells out the call)."""
    return f"Xavier/Glorot initialization at {kind}'s gain"


def start_reference(case, model: nn.Module, seed: int = 0) -> nn.Module | None:
    """The init a start is compared with and replayed from: PyTorch's default where the model
    has one (_reinit.default_init); a model written as plain tensors has none, so the init that
    suits its hidden sigmoid/tanh activation (suited_init) or, for anything else, He
    (TensorModel.reset_parameters)."""
    kind = suited_squashing(case.trace)
    if kind is not None and isinstance(model, TensorModel):
        return suited_init(model, kind, seed)
    return default_init(model, seed)


def start_reference_name(case, model: nn.Module) -> str:
    """start_reference's init, in words."""
    kind = suited_squashing(case.trace)
    if kind is not None and isinstance(model, TensorModel):
        return suited_init_name(kind)
    return initialization_name(model)


def suited_replay(case, reference: nn.Module):
    """The user's training replayed from ``reference`` (a suited_init draw), once per case."""
    return case.shared("replay.suited_init", lambda: case.replayer.replay(
        Plan(model=copy.deepcopy(reference), steps=REPLAY_STEPS)))


def suited_fix(kind: str) -> str:
    """The fix that names the init suiting ``kind`` layers."""
    return (f"Initialize the layers before each {kind} for it: "
            f"nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain('{kind}')) and "
            f"zero biases (Xavier/Glorot; kaiming/He is for ReLU).")
