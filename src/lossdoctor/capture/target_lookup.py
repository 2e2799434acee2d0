"""A second tensor with a row per batch row that the loss reads beside the target, whose values
follow the target's row by row: class weights indexed by the labels (``weight[labels.long()]``,
fresh30 s06), computed where the loss's recording does not follow (through ``labels.data``, in
NumPy). A replay on another batch reads it from that batch's target through the same table."""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: The most distinct target values a table may hold: class labels, not a continuous target
#: (whose values are each seen once, so any tensor would "follow" them).
MAX_KEYS = 1000


@dataclass(frozen=True, eq=False)
class TargetLookup:
    """``values[i]`` for the rows whose target is ``keys[i]``."""

    keys: torch.Tensor  # sorted, one per distinct target value seen
    values: torch.Tensor  # the tensor's value for each key

    def of(self, target: torch.Tensor) -> torch.Tensor:
        keys, values = self.keys.to(target.device), self.values.to(target.device)
        flat = target.reshape(-1).to(keys.dtype)
        index = torch.searchsorted(keys, flat).clamp(max=len(keys) - 1)
        if not torch.equal(keys[index], flat):
            raise ValueError("a target value the recorded step did not have, so its weight "
                             "is not known")
        return values[index].reshape(target.shape)


def lookup_of(tensor: torch.Tensor, target: torch.Tensor) -> TargetLookup | None:
    """The table that gives ``tensor`` from ``target``, when each target value comes with one
    value of ``tensor``; None otherwise. Needs class-like targets (whole numbers, at least two
    distinct values, fewer than rows) of the same shape."""
    if tensor.shape != target.shape or tensor.is_complex() or target.is_complex():
        return None
    flat_target = target.detach().reshape(-1).to("cpu", torch.float64)
    flat_tensor = tensor.detach().reshape(-1).to("cpu")
    if not torch.equal(flat_target, flat_target.round()):
        return None
    keys, groups = torch.unique(flat_target, sorted=True, return_inverse=True)
    if not 2 <= len(keys) <= min(MAX_KEYS, len(flat_target) - 1):
        return None
    values = torch.empty(len(keys), dtype=flat_tensor.dtype)
    values[groups] = flat_tensor
    if not torch.equal(values[groups], flat_tensor):
        return None
    return TargetLookup(keys, values)
