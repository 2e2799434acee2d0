"""A model that is a stack of linear layers with nothing nonlinear between them: however deep,
it computes one linear map. The fix to test is the missing nonlinearity itself: the same
layers with a ReLU after each hidden one."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import first_tensor, take_rows
from lossdoctor.checks._inputs import at, inputs_without_target
from lossdoctor.sandbox import isolated

#: Layers that keep a stack of linear maps linear (they hold no nonlinearity).
LINEAR_COMPANIONS = (nn.Dropout, nn.Flatten, nn.Identity, nn.Unflatten)
#: Activation kinds the capture sees being computed (capture/activations.py).
NONLINEAR_KINDS = {"sigmoid", "tanh", "relu"}


def linear_layers(model: nn.Module | None, trace, batch: Batch | None = None,
                  predict: Callable | None = None) -> list[str]:
    """The names of the model's Linear layers when it has two or more of them and nothing
    nonlinear anywhere (no other layer type, no activation seen in a sampled forward pass, and,
    given a ``batch``, outputs that an affine map would give: see :func:`computes_affine_map`);
    [] otherwise."""
    if model is None or any(a.kind in NONLINEAR_KINDS for a in trace.activations):
        return []
    leaves = [(name, m) for name, m in model.named_modules() if name and not list(m.children())]
    if not all(isinstance(m, (nn.Linear, *LINEAR_COMPANIONS)) for _, m in leaves):
        return []
    names = [name for name, m in leaves if isinstance(m, nn.Linear)]
    if len(names) < 2 or (batch is not None and not computes_affine_map(model, batch, predict)):
        return []
    return names


#: An affine map's output at the midpoint of two inputs is the midpoint of its outputs, up to
#: float32 rounding (about 1e-7 relative per layer). A nonlinearity the capture does not see
#: (F.gelu, x.clamp(min=0) in ``forward``) moves it by far more: for GELU between standardized
#: layers, a few hundredths of the outputs' size.
AFFINE_TOLERANCE = 1e-4


def computes_affine_map(model: nn.Module, batch: Batch, predict: Callable | None = None) -> bool:
    """Whether the model, in eval mode, maps the midpoint of two rows' inputs to the midpoint
    of their outputs, for the first half of the batch paired with the second. ``predict(model,
    batch)`` gives the output (the replayer's: a model that takes its target among its inputs,
    a dict batch with its labels, gets them); by default the model called on the batch's
    inputs. True when it cannot be told (fewer than 2 rows, no float input, an output that is
    not a tensor). A batch scored on a selection of its rows (a graph's nodes) is not cut: its
    first float input is paired with itself in reverse row order, the other inputs held."""
    half = batch.rows // 2
    paths = [p for p, t in inputs_without_target(batch) if t.is_floating_point()]
    if half < 1 or not paths:
        return True
    if batch.selection is not None:  # a graph's nodes, joined by the forward: not cut apart
        paths = paths[:1]
        first, target, half = (batch.args, batch.kwargs), batch.target, batch.rows
        second = _with(first, paths[0], at(first, paths[0]).flip(0))
    else:
        first, second = (_rows(batch, range(start, start + half)) for start in (0, half))
        target = _target_rows(batch, half)
    middle = first
    for path in paths:
        middle = _with(middle, path, (at(first, path) + at(second, path)) / 2)
    predict = predict or _called
    with isolated(0), torch.no_grad():
        copied = copy.deepcopy(model).eval()
        outputs = [first_tensor(predict(copied, Batch(args, kwargs, target, half)))
                   for args, kwargs in (first, second, middle)]
    if any(o is None or not o.is_floating_point() for o in outputs):
        return True
    expected = (outputs[0] + outputs[1]) / 2
    scale = float(expected.abs().mean()) + 1e-12
    return float((outputs[2] - expected).abs().max()) <= AFFINE_TOLERANCE * max(scale, 1.0)


def _called(model: nn.Module, batch: Batch):
    return model(*batch.args, **batch.kwargs)


def _target_rows(batch: Batch, half: int):
    """The first half's targets, given to each of the three calls (a model that computes its
    loss from them needs some; its prediction does not depend on them)."""
    return take_rows(batch.target, list(range(half)), batch.rows)


def _rows(batch: Batch, rows: range) -> tuple:
    return take_rows((batch.args, batch.kwargs), list(rows), batch.rows)


def _with(value, path: tuple, new):
    """A copy of the structure ``value`` with ``new`` at ``path``."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, key: _with(value[key], rest, new)}
    items = list(value)
    items[key] = _with(items[key], rest, new)
    return tuple(items) if isinstance(value, tuple) else items


def with_activations(model: nn.Module, names: list[str]) -> nn.Module:
    """A copy of ``model`` with a ReLU after each of its Linear layers ``names`` but the last
    (the output layer), in place of the layer itself."""
    activated = copy.deepcopy(model)
    for name in names[:-1]:
        parent_name, _, child = name.rpartition(".")
        parent = activated.get_submodule(parent_name) if parent_name else activated
        setattr(parent, child, nn.Sequential(getattr(parent, child), nn.ReLU()))
    return activated
