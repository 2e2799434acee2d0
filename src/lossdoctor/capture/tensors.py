"""Detached CPU copies of nested batch structures, and what can be read off them."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def copy_to_cpu(value):
    """A detached CPU copy of tensors inside tuples, lists and dicts; other leaves as they are."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, Mapping):
        return {k: copy_to_cpu(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(copy_to_cpu(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(copy_to_cpu(v) for v in value)
    return value


def tensors_in(value) -> list[torch.Tensor]:
    """Every tensor in a nested structure, depth first."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in tensors_in(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    return []


def batch_rows(value) -> int:
    """The batch size of a structure: the leading size of its first tensor with a dimension."""
    for tensor in tensors_in(value):
        if tensor.dim() > 0:
            return int(tensor.shape[0])
    return 0


def first_tensor(value) -> torch.Tensor | None:
    """The first tensor in a structure (a model's prediction inside a tuple, dict or output)."""
    if hasattr(value, "to_tuple") and not isinstance(value, torch.Tensor):
        value = value.to_tuple()
    found = tensors_in(value)
    return found[0] if found else None
