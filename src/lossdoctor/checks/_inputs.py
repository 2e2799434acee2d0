"""The model's inputs in a captured batch, without the target.

A ``Dataset`` that returns dicts gives the model its batch whole, ``model(batch)``, and the loss
reads ``batch["target"]`` from the same dict: the target then sits among the model's inputs. A
learner or a larger model given it would "predict" the labels from the labels. Each input is
named by its path in the model's (args, kwargs): ``(0, 0)`` for ``model(x)``, ``(0, 0,
"inputs")`` for ``model(batch)`` reading ``batch["inputs"]``.
"""

from __future__ import annotations

import torch

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import tensors_in


def inputs_without_target(batch: Batch) -> list[tuple[tuple, torch.Tensor]]:
    """(path, tensor) for every tensor the model is given, except those equal to the target;
    all of them when every one equals it (an autoencoder's input is its target)."""
    leaves = list(_leaves((batch.args, batch.kwargs), ()))
    return [(path, t) for path, t in leaves if not _is_target(t, batch.target)] or leaves


def at(value, path: tuple):
    """The item at ``path`` in a structure of tuples, lists and dicts."""
    for key in path:
        value = value[key]
    return value


def _leaves(value, path: tuple):
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _is_target(tensor: torch.Tensor, target) -> bool:
    return any(tensor.shape == t.shape and torch.equal(tensor, t) for t in tensors_in(target))
