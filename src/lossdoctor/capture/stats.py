"""Statistics computed from tensors inside hooks. Pure functions; they return plain floats."""

from __future__ import annotations

import torch
from torch import nn

#: How close to its limit an output must be to count as saturated.
SATURATION_MARGIN = {"sigmoid": 0.01, "tanh": 0.01, "probabilities": 0.001}

ACTIVATION_MODULES = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ReLU6)


@torch.no_grad()
def saturated_fraction(kind: str, output: torch.Tensor) -> float:
    """Fraction of outputs pinned at the limits of a sigmoid (0, 1) or tanh (-1, 1)."""
    values = output.detach().float()
    margin = SATURATION_MARGIN.get(kind)
    if margin is None or values.numel() == 0:
        return 0.0
    low = -1.0 if kind == "tanh" else 0.0
    pinned = (values <= low + margin) | (values >= 1.0 - margin)
    return float(pinned.float().mean())


@torch.no_grad()
def dead_fraction(output: torch.Tensor) -> float:
    """Fraction of units (features after the batch axis) that are zero for every row."""
    values = output.detach()
    if values.dim() < 2 or values.shape[0] < 2:
        return 0.0
    per_unit = values.transpose(0, 1).reshape(values.shape[1], -1) if values.dim() > 2 else values.T
    return float((per_unit.abs().amax(dim=1) == 0).float().mean())


def unit_count(output: torch.Tensor) -> int:
    return int(output.shape[1]) if output.dim() >= 2 else int(output.numel())


@torch.no_grad()
def norm(tensor: torch.Tensor) -> float:
    return float(tensor.detach().float().norm())


#: How far a row's sum (or logsumexp) may be from 1 (or 0) and still be a softmax output.
NORMALIZED_TOLERANCE = 1e-3


@torch.no_grad()
def loss_input_numbers(prediction: torch.Tensor, target: torch.Tensor) -> dict:
    """Shapes, target dtype and value ranges of a loss call, and whether a 2-D prediction's rows
    are already probabilities or log-probabilities. Plain numbers; nothing is kept."""
    values = prediction.detach().float()
    labels = target.detach()
    labels_float = labels.float()
    is_float = labels.is_floating_point()
    numbers = {
        "prediction_shape": list(prediction.shape),
        "target_shape": list(target.shape),
        "target_dtype": str(target.dtype),
        "target_min": float(labels_float.min()),
        "target_max": float(labels_float.max()),
        "target_integers": bool((labels_float == labels_float.round()).all()) if is_float
        else True,
        "prediction_min": float(values.min()),
        "prediction_max": float(values.max()),
    }
    if values.dim() == 2 and values.shape[1] > 1:
        numbers["rows_sum_to_one"] = bool(
            numbers["prediction_min"] >= 0
            and ((values.sum(dim=1) - 1).abs() <= NORMALIZED_TOLERANCE).all()
        )
        numbers["rows_log_softmax"] = bool(
            numbers["prediction_max"] <= 0
            and (values.logsumexp(dim=1).abs() <= NORMALIZED_TOLERANCE).all()
        )
    return numbers
