"""Which of the model's inputs are token ids: the inputs its embedding tables are indexed by.

A token id names a row of a table; its value is a category, not an amount (word 812 is not
twice word 406). What says an input is made of ids is what the model does with it, whatever its
dtype: ``nn.Embedding`` and Keras' ``Embedding`` both look it up with ``F.embedding``, and
Keras hands the lookup float ids (its inputs are float32 unless declared otherwise). One
forward of a copy of the model on a captured batch, watched through a torch function mode,
gives the index tensors of every lookup; an input whose values are those indices is looked up.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from lossdoctor.checks._inputs import inputs_without_target
from lossdoctor.sandbox import isolated

LOOKUP_FUNCTIONS = (F.embedding, torch.embedding, F.embedding_bag, torch.embedding_bag)


class _Lookups(TorchFunctionMode):
    """Records the index tensor of each embedding lookup."""

    def __init__(self) -> None:
        super().__init__()
        self.indices: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in LOOKUP_FUNCTIONS:
            indices = kwargs.get("input", kwargs.get("indices", args[0] if args else None))
            if func is torch.embedding or func is torch.embedding_bag:  # (weight, indices)
                indices = kwargs.get("indices", args[1] if len(args) > 1 else None)
            if isinstance(indices, torch.Tensor):
                self.indices.append(indices.detach().cpu())
        return func(*args, **kwargs)


def looked_up_inputs(case) -> frozenset[tuple]:
    """The paths (:mod:`._inputs`) of the inputs the model's embedding tables are indexed by,
    read once per case; empty when the model cannot be run on a captured batch."""
    return case.shared("inputs.looked_up", lambda: _looked_up(case))


def _looked_up(case) -> frozenset[tuple]:
    model = case.copies.initial_model
    batches = case.replayer.train_batches
    if model is None or not batches:
        return frozenset()
    lookups = _Lookups()
    try:
        with isolated(0), torch.no_grad(), lookups:
            case.replayer.predict(copy.deepcopy(model).eval(), batches[0])
    except Exception:  # noqa: BLE001 - a model this cannot run shows no lookups
        return frozenset()
    return frozenset(path for path, tensor in inputs_without_target(batches[0])
                     if any(indexes(tensor, ids) for ids in lookups.indices))


def indexes(tensor: torch.Tensor, ids: torch.Tensor) -> bool:
    """Whether ``tensor`` holds the ids ``ids``: the same shape and, read as whole numbers, the
    same values."""
    tensor = tensor.detach().cpu()
    if tensor.shape != ids.shape or tensor.is_complex() or ids.is_floating_point():
        return False
    if tensor.is_floating_point() and not torch.equal(tensor, tensor.round()):
        return False
    return torch.equal(tensor.long(), ids.long())
