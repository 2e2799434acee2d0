"""Recurrent layers whose state nothing squashes, with recurrent weights that do not shrink it.

A ReLU recurrence (``nn.RNN(nonlinearity="relu")``, ``nn.RNNCell``) multiplies its state by the
same recurrent weight matrix at every time step, and its backward pass multiplies the gradient
by its transpose: with no tanh to bound them, both grow with the sequence's length whenever that
matrix does not shrink vectors. A spectral radius below 1 is what keeps such a recurrence from
exploding; at 1 or above, gradients can explode through time (Pascanu et al., 2013, sec. 3.1:
for a linear or ReLU recurrence, a largest eigenvalue above 1 is necessary for explosion and
one at 1 sits on the edge). The identity initialization of the IRNN (Le et al., 2015) puts
it at exactly 1, and Le et al. train it with the gradient clipped for that reason. PyTorch's
default init (uniform in +-1/sqrt(hidden)) gives about 0.58 (the circular law:
sqrt(hidden * Var(w)) = 1/sqrt(3)).

LSTM and GRU squash their state through their gates and are not read here.
"""

from __future__ import annotations

import torch
from torch import nn

#: The spectral radius from which a ReLU recurrence no longer shrinks its state (see above).
EDGE_OF_GROWTH = 1.0

RELU_RECURRENT = (nn.RNN, nn.RNNCell)


def unsquashed_recurrences(*models: nn.Module | None) -> dict[str, float]:
    """Each ReLU recurrent weight of ``models`` whose spectral radius is at least
    EDGE_OF_GROWTH in any of them (the run's model before training and as it left it), by its
    name, with the largest radius seen."""
    found: dict[str, float] = {}
    for model in models:
        for name, weight in _relu_recurrent_weights(model):
            radius = spectral_radius(weight)
            if radius >= EDGE_OF_GROWTH:
                found[name] = max(radius, found.get(name, 0.0))
    return found


def spectral_radius(weight: torch.Tensor) -> float:
    """The largest absolute eigenvalue of a square matrix."""
    with torch.no_grad():
        return float(torch.linalg.eigvals(weight.detach().double()).abs().max())


def _relu_recurrent_weights(model: nn.Module | None):
    if not isinstance(model, nn.Module):
        return
    for module_name, module in model.named_modules():
        if isinstance(module, RELU_RECURRENT) and module.nonlinearity == "relu":
            for name, weight in module.named_parameters(recurse=False):
                if name.startswith("weight_hh"):
                    yield f"{module_name}.{name}" if module_name else name, weight
