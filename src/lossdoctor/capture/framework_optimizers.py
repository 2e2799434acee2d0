"""Optimizers that apply their updates outside torch.optim, as seen from the model they train.

Keras 3 on the torch backend: its layers are torch modules, but its optimizer changes the
parameters itself. The model holds it (``model.optimizer``), and its settings name the torch.optim
optimizer that makes the same updates, which the experiments then use to replay the training.
Its own step counter (``iterations``, advanced by every update it applies) tells a step from
none, whatever the step changed: an update of gradients that are all zero changes nothing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: Keras optimizer class -> the torch.optim class that makes the same update.
KERAS_TO_TORCH = {
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "SGD": torch.optim.SGD,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}
#: Digits of a learning rate kept: Keras holds it in float32 (0.01 reads 0.009999999776).
LR_DIGITS = 6


def torch_equivalent(model: nn.Module | None) -> tuple[type, dict] | None:
    """The torch.optim class and settings that match the framework optimizer training
    ``model``; None when there is none (or none that lossdoctor knows)."""
    optimizer = _keras_optimizer(model)
    if optimizer is None:
        return None
    torch_class = _known_class(optimizer)
    if torch_class is None:
        return None
    lr = _number(optimizer.learning_rate)
    if lr is None:
        return None
    settings = _settings(optimizer, torch_class)
    if torch_class is torch.optim.Adam and "weight_decay" in settings:
        torch_class = torch.optim.AdamW  # Keras decays the weights apart from the gradient
    return torch_class, {"lr": _rounded(lr), **settings}


def framework_state(model: nn.Module | None) -> tuple[int, float | None] | None:
    """The framework optimizer's count of the updates it applied and its current learning rate
    (None for a rate it cannot give as a number); None when ``model`` has no such optimizer."""
    optimizer = _keras_optimizer(model)
    if optimizer is None:
        return None
    steps = _number(getattr(optimizer, "iterations", None))
    lr = _number(optimizer.learning_rate)
    return None if steps is None else (int(steps), None if lr is None else _rounded(lr))


def _keras_optimizer(model: nn.Module | None):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not type(optimizer).__module__.startswith("keras"):
        return None
    return optimizer


def _known_class(optimizer) -> type | None:
    for cls in type(optimizer).__mro__:
        if cls.__name__ in KERAS_TO_TORCH:
            return KERAS_TO_TORCH[cls.__name__]
    return None


def _settings(optimizer, torch_class: type) -> dict:
    get = optimizer.__dict__.get
    if torch_class in (torch.optim.Adam, torch.optim.AdamW):
        settings = {"betas": (get("beta_1", 0.9), get("beta_2", 0.999)),
                    "eps": get("epsilon", 1e-7), "amsgrad": bool(get("amsgrad", False))}
    elif torch_class is torch.optim.SGD:
        settings = {"momentum": get("momentum", 0.0), "nesterov": bool(get("nesterov", False))}
    elif torch_class is torch.optim.RMSprop:
        settings = {"alpha": get("rho", 0.9), "eps": get("epsilon", 1e-7),
                    "momentum": get("momentum", 0.0), "centered": bool(get("centered", False))}
    else:
        settings = {"eps": get("epsilon", 1e-7)}
    decay = get("weight_decay")
    if decay:
        settings["weight_decay"] = float(decay)
    return settings


def _rounded(lr: float) -> float:
    return float(f"{lr:.{LR_DIGITS}g}")


def _number(value) -> float | None:
    """A Keras variable's value as a float; None for a schedule object."""
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return None
