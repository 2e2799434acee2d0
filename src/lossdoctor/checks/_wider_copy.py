"""The user's own model with its hidden layers made wider, for the capacity experiment.

:mod:`._larger_model` builds a standard larger model for MLPs and CNNs. Any other model built
from layers whose width is one number (an embedding, a recurrent layer, a token MLP, a model
that computes its loss in ``forward``) is enlarged in place instead: a copy of the model keeps
its own ``forward`` and gets each hidden layer replaced by a wider one of the same kind. The
layer after a widened one takes its new input size from what it is given in one forward pass
on a captured batch; the output layer (the last one called) keeps its own output size.

None is built (the reason is returned instead) when the model holds a layer with parameters of
another kind (attention, a custom parameter), when its ``forward`` relies on its old sizes (it
fails or returns another shape once widened), or when no hidden layer would get wider.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.layers import called_in_order, own_parameters
from lossdoctor.sandbox import isolated

#: Each hidden layer gets this many times its width, at least MIN_WIDTH and at most MAX_WIDTH
#: units: the one-unit bottleneck gets 32, a 64-unit recurrent layer 128. The cap keeps a
#: 300-step replay of a recurrent model to a few CPU seconds.
WIDTH_FACTOR = 4
MIN_WIDTH = 32
MAX_WIDTH = 128

#: Width attribute of each layer kind that has one, the kind rebuilt for a new input.
WIDTHS = {
    nn.Linear: "out_features",
    nn.Conv1d: "out_channels",
    nn.Conv2d: "out_channels",
    nn.Embedding: "embedding_dim",
    nn.RNN: "hidden_size",
    nn.GRU: "hidden_size",
    nn.LSTM: "hidden_size",
}
#: Layers with parameters that follow their input's width.
FOLLOWERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)


def wider_width(width: int) -> int:
    return min(max(WIDTH_FACTOR * width, MIN_WIDTH), MAX_WIDTH)


def why_not_wider(model: nn.Module) -> str:
    """Why no wider copy of ``model`` can be made from its layers; "" when it may be."""
    others = sorted({type(m).__name__ for m in model.modules() if own_parameters(m)
                     and not isinstance(m, (*WIDTHS, *FOLLOWERS))})
    if others:
        return f"your model has {', '.join(others)} layers, which are not widened"
    if any(getattr(m, "proj_size", 0) or getattr(m, "groups", 1) != 1 for m in model.modules()):
        return "your model has a projected LSTM or a grouped convolution"
    if any(isinstance(m, nn.LayerNorm) and len(m.normalized_shape) != 1
           for m in model.modules()):
        return "your model normalizes over more than one axis"
    return ""


def wider_copy(model: nn.Module, batch: Batch, seed: int = 0) -> tuple[nn.Module, list] | str:
    """(a copy of ``model`` with its hidden layers wider, [(layer name, old, new width)]), or
    why none can be made."""
    reason = why_not_wider(model)
    if reason:
        return reason
    order = _call_order(model, batch)
    sized = [name for name in order if isinstance(model.get_submodule(name), tuple(WIDTHS))]
    if not sized:
        return "your model has no layer with a width"
    hidden = sized[:-1]  # the last one called is the output layer
    changes = [(n, w, wider_width(w)) for n in hidden
               if wider_width(w := _width(model.get_submodule(n))) > w]
    if not changes:
        return "your model's hidden layers are already as wide as the widest this test trains"
    with isolated(seed):
        wider = _rebuilt(model, batch, dict((n, new) for n, _, new in changes), order)
    return wider if isinstance(wider, str) else (wider, changes)


def _rebuilt(model: nn.Module, batch: Batch, widths: dict[str, int], order: list[str]):
    wider = copy.deepcopy(model)
    for name in order:
        layer = wider.get_submodule(name)
        _replace(wider, name, _Deferred(layer, widths.get(name)))
    try:
        with torch.no_grad():
            output = first_tensor(wider(*batch.args, **batch.kwargs))
    except Exception as error:  # noqa: BLE001 - a forward that relies on its sizes
        return f"your model's forward fails once its layers are wider ({type(error).__name__})"
    with torch.no_grad():
        expected = first_tensor(copy.deepcopy(model)(*batch.args, **batch.kwargs))
    for name in order:
        deferred = wider.get_submodule(name)
        if deferred.layer is None:
            return "one of your model's layers was not called in a forward pass"
        _replace(wider, name, deferred.layer)
    if output is None or expected is None or output.shape != expected.shape:
        return "your model's output changes shape once its layers are wider"
    return wider


def _call_order(model: nn.Module, batch: Batch) -> list[str]:
    """Names of the layers with parameters, in the order a forward pass first calls them."""
    probe = copy.deepcopy(model)
    return [name for name, _ in called_in_order(probe, lambda: probe(*batch.args, **batch.kwargs))
            if name]


def _width(layer: nn.Module) -> int:
    return int(getattr(layer, WIDTHS[type(layer)]))


class _Deferred(nn.Module):
    """A layer rebuilt on its first call, for the input it is given and ``width`` (None: its
    own width)."""

    def __init__(self, layer: nn.Module, width: int | None) -> None:
        super().__init__()
        self.template, self.width, self.layer = [layer], width, None

    def forward(self, x, *args, **kwargs):
        if self.layer is None:
            self.layer = _rebuild(self.template[0], x, self.width)
        return self.layer(x, *args, **kwargs)


def _rebuild(layer: nn.Module, x: torch.Tensor, width: int | None) -> nn.Module:
    """A fresh layer of ``layer``'s kind and settings for input ``x``, ``width`` wide."""
    kind = type(layer)
    width = width if width is not None else (_width(layer) if kind in WIDTHS else None)
    bias = getattr(layer, "bias", None) is not None
    if kind is nn.Linear:
        built = nn.Linear(x.shape[-1], width, bias=bias)
    elif kind in (nn.Conv1d, nn.Conv2d):
        built = kind(x.shape[1], width, layer.kernel_size, layer.stride, layer.padding,
                     layer.dilation, bias=bias, padding_mode=layer.padding_mode)
    elif kind is nn.Embedding:
        built = nn.Embedding(layer.num_embeddings, width, padding_idx=layer.padding_idx)
    elif kind in (nn.RNN, nn.GRU, nn.LSTM):
        extra = {"nonlinearity": layer.nonlinearity} if kind is nn.RNN else {}
        built = kind(x.shape[-1], width, num_layers=layer.num_layers, bias=layer.bias,
                     batch_first=layer.batch_first, dropout=layer.dropout,
                     bidirectional=layer.bidirectional, **extra)
    elif kind is nn.LayerNorm:
        built = nn.LayerNorm(x.shape[-1], eps=layer.eps,
                             elementwise_affine=layer.elementwise_affine)
    else:  # batch normalization
        built = kind(x.shape[1], eps=layer.eps, momentum=layer.momentum, affine=layer.affine,
                     track_running_stats=layer.track_running_stats)
    dtype = next(layer.parameters()).dtype
    return built.to(dtype).train(layer.training)


def _replace(model: nn.Module, name: str, layer: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, layer)

