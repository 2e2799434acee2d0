"""A loss call's value as the mean per element that ``reduction="mean"`` would give, whatever
reduction the call used, so that every loss on the curves is on one scale."""

from __future__ import annotations

import torch
from torch.nn import _reduction

#: Losses whose target holds class indices: their mean is over the targets, not the logits.
CLASS_INDEX_LOSSES = {"cross_entropy", "CrossEntropyLoss", "nll_loss", "NLLLoss",
                      "multi_margin_loss", "MultiMarginLoss"}
#: Losses whose mean ("batchmean") is per row: kl_div's elementwise mean is not a KL divergence.
ROW_MEAN_LOSSES = {"kl_div", "KLDivLoss"}
#: ``ignore_index`` when the call does not set it (torch.nn's default).
DEFAULT_IGNORE_INDEX = -100


def reduction_of(loss_fn, kwargs: dict | None) -> str:
    """"mean", "sum", "none" (or "batchmean"): a module's setting, or the call's keywords,
    legacy ``size_average``/``reduce`` included."""
    if kwargs is None:
        return getattr(loss_fn, "reduction", "mean")
    if "size_average" in kwargs or "reduce" in kwargs:
        return _reduction.legacy_get_string(kwargs.get("size_average"), kwargs.get("reduce"),
                                            emit_warning=False)  # the user's call warned
    return kwargs.get("reduction", "mean")


def per_element_mean(name: str, output: torch.Tensor, prediction: torch.Tensor, target,
                     reduction: str, ignore_index: int = DEFAULT_IGNORE_INDEX) -> float:
    """The loss as ``reduction="mean"`` would have reported it."""
    if output.numel() != 1:  # reduction="none": one value per element
        return float(output.detach().float().mean())
    value = output.item()
    if reduction != "sum":
        return value
    return value / max(_mean_count(name, prediction, target, ignore_index), 1)


def _mean_count(name: str, prediction: torch.Tensor, target, ignore_index: int) -> int:
    """How many terms the "mean" reduction divides by."""
    rows = prediction.shape[0] if prediction.dim() else 1
    if name in ROW_MEAN_LOSSES or not isinstance(target, torch.Tensor):
        return rows
    if name in CLASS_INDEX_LOSSES:
        if not target.is_floating_point():
            return int((target != ignore_index).sum())
        return prediction.numel() // max(prediction.shape[1], 1) if prediction.dim() > 1 else 1
    return torch.broadcast_shapes(prediction.shape, target.shape).numel()
