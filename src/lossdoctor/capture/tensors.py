"""Walk nested batch structures (tuples, lists, dicts, named tuples) of tensors."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch


def map_tensors(value, change: Callable[[torch.Tensor], torch.Tensor]):
    """The same structure with ``change`` applied to every tensor; dicts come back plain."""
    if isinstance(value, torch.Tensor):
        return change(value)
    if isinstance(value, Mapping):
        return {k: map_tensors(v, change) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(map_tensors(v, change) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(map_tensors(v, change) for v in value)
    return value


def copy_to_cpu(value):
    """A detached CPU copy of every tensor in a structure."""
    return map_tensors(value, lambda t: t.detach().to("cpu", copy=True))


def take_rows(value, index: list[int], rows: int):
    """Only the given rows of each tensor whose leading size is ``rows``."""
    return map_tensors(
        value, lambda t: t[index] if t.dim() > 0 and t.shape[0] == rows else t
    )


def tensors_in(value) -> list[torch.Tensor]:
    """Every tensor in a nested structure, depth first."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in tensors_in(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    return []


def dense_tensors_in(value) -> list[torch.Tensor]:
    """The tensors in a nested structure whose values can be read row by row: a sparse one
    (a graph's adjacency given to the model beside its node features) is left out."""
    return [t for t in tensors_in(value) if t.layout == torch.strided]


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
