"""A loss call's value as the mean per element that ``reduction="mean"`` would give, whatever
reduction the call used, so that every loss on the curves is on one scale."""

from __future__ import annotations

import functools

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
    legacy ``size_average``/``reduce`` included (when set: a functional loss's bound
    arguments hold both as None beside ``reduction``)."""
    if kwargs is None:
        return getattr(loss_fn, "reduction", "mean")
    if kwargs.get("size_average") is not None or kwargs.get("reduce") is not None:
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
    return value / max(mean_count(name, prediction, target, ignore_index), 1)


def summed_terms(loss_fn, prediction_shape: tuple, target: torch.Tensor) -> int:
    """How many terms a torch.nn loss (a module, or a function with its settings bound by
    functools.partial) adds up on ``target`` when its reduction is "sum", else 1: what the
    "mean" reduction would divide by. The prediction is known by its shape only."""
    settings = loss_fn.keywords if isinstance(loss_fn, functools.partial) else None
    function = loss_fn.func if isinstance(loss_fn, functools.partial) else loss_fn
    if reduction_of(function, settings) != "sum":
        return 1
    name = getattr(function, "__name__", None) or type(function).__name__
    ignore_index = (settings or {}).get("ignore_index",
                                        getattr(function, "ignore_index", DEFAULT_IGNORE_INDEX))
    prediction = torch.empty((target.shape[0] if target.dim() else 1, *prediction_shape),
                             device="meta")
    try:
        return max(mean_count(name, prediction, target, ignore_index), 1)
    except RuntimeError:  # shapes that do not broadcast: the target's own elements
        return max(target.numel(), 1)


def mean_count(name: str, prediction: torch.Tensor, target, ignore_index: int) -> int:
    """How many terms the "mean" reduction divides by."""
    rows = prediction.shape[0] if prediction.dim() else 1
    if name in ROW_MEAN_LOSSES or not isinstance(target, torch.Tensor):
        return rows
    if name in CLASS_INDEX_LOSSES:
        if not target.is_floating_point():
            return int((target != ignore_index).sum())
        return prediction.numel() // max(prediction.shape[1], 1) if prediction.dim() > 1 else 1
    return torch.broadcast_shapes(prediction.shape, target.shape).numel()
