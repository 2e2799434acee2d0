"""Statistics computed from tensors inside hooks. Pure functions; they return plain floats, or
0-d tensors (``*_share``) that a caller reads together with others, in one wait for the device."""

from __future__ import annotations

import torch
from torch import nn

#: How close to its limit an output must be to count as saturated.
#: A softmax row (its normalized dimension last) is saturated when its largest probability
#: is within the margin of 1: the row is then nearly one-hot and its gradient, p(1 - p), is at
#: most about the margin, as a sigmoid's is at the sigmoid's margin.
SATURATION_MARGIN = {"sigmoid": 0.01, "tanh": 0.01, "probabilities": 0.001, "softmax": 0.01}

ACTIVATION_MODULES = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.ReLU6)


def saturated_fraction(kind: str, output: torch.Tensor) -> float:
    """Fraction of outputs pinned at the limits of a sigmoid (0, 1) or tanh (-1, 1)."""
    share = saturated_share(kind, output)
    return 0.0 if share is None else float(share)


def dead_fraction(output: torch.Tensor) -> float:
    """Fraction of units (features after the batch axis) that are zero for every row."""
    share = dead_share(output)
    return 0.0 if share is None else float(share)


def saturated_share(kind: str, output: torch.Tensor) -> torch.Tensor | None:
    """saturated_fraction as a 0-d tensor, left on the device (None where it is 0). Computed
    on a detached tensor, so no graph is recorded: no ``no_grad`` to enter and leave, which
    cost more than the arithmetic on each of a deep model's hundreds of activations."""
    margin = SATURATION_MARGIN.get(kind)
    if margin is None or output.numel() == 0:
        return None
    values = output.detach().float()
    if kind == "softmax":  # the share of rows nearly one-hot
        return (values.amax(dim=-1) >= 1.0 - margin).float().mean()
    low = -1.0 if kind == "tanh" else 0.0
    pinned = (values <= low + margin) | (values >= 1.0 - margin)
    return pinned.float().mean()


@torch.no_grad()
def dead_share(output: torch.Tensor) -> torch.Tensor | None:
    """dead_fraction as a 0-d tensor, left on the device (None where it is 0)."""
    values = output.detach()
    if values.dim() < 2 or values.shape[0] < 2:
        return None
    per_unit = values.transpose(0, 1).reshape(values.shape[1], -1) if values.dim() > 2 else values.T
    return (per_unit.abs().amax(dim=1) == 0).float().mean()


def live_units(nonnegative: torch.Tensor) -> torch.Tensor | None:
    """How many units of a ReLU's output (values >= 0: no ``abs``) are nonzero for some row,
    as a 0-d tensor left on the device: dead_fraction is 1 - live / unit_count. Two kernels
    on a detached tensor, where dead_share takes six and a grad-mode switch (a sampled step of
    a model of hundreds of small layers computes one per activation)."""
    values = nonnegative.detach()
    if values.dim() < 2 or values.shape[0] < 2:
        return None
    return torch.count_nonzero(values.amax(dim=(0, *range(2, values.dim()))))  # per unit


def unit_count(output: torch.Tensor) -> int:
    return int(output.shape[1]) if output.dim() >= 2 else int(output.numel())


@torch.no_grad()
def norm(tensor: torch.Tensor) -> float:
    return float(tensor.detach().float().norm())


@torch.no_grad()
def norms(tensors: list[torch.Tensor]) -> list[float]:
    """The norms of many tensors, read in one go: one wait for the device, not one per tensor,
    and one fused kernel where torch has it (a sampled step of a deep model has hundreds)."""
    if not tensors:
        return []
    values = [t if t.dtype is torch.float32 else t.float() for t in tensors]  # no_grad: no detach
    try:
        found = torch._foreach_norm(values)
    except (AttributeError, RuntimeError, TypeError):  # an older torch, mixed devices
        found = [v.norm() for v in values]
    try:
        return torch.stack(found).tolist()
    except RuntimeError:  # the tensors live on several devices
        return [float(f) for f in found]


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
        numbers["widest_row"] = float((values.amax(dim=1) - values.amin(dim=1)).max())
        numbers["rows_log_softmax_of_probabilities"] = (
            numbers["rows_log_softmax"] and _shifted_rows_are_probabilities(values))
    return numbers


def _shifted_rows_are_probabilities(values: torch.Tensor) -> bool:
    """log_softmax(p) is p shifted by a constant per row; for rows p of probabilities, the
    shift that makes each row sum to 1 gives back p, every value in [0, 1]. Logits of a
    trained model, shifted so, spread far beyond [0, 1]."""
    shifted = values - values.mean(dim=1, keepdim=True) + 1 / values.shape[1]
    inside = shifted.min() >= -NORMALIZED_TOLERANCE and shifted.max() <= 1 + NORMALIZED_TOLERANCE
    return bool(inside)
