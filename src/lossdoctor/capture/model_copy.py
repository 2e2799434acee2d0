"""Copies of the user's model taken while the script runs, without a word on its output, and
kept off the accelerator: GPU memory is the user's run's."""

from __future__ import annotations

import copy
import itertools
import types
import warnings

import torch
from torch import nn

from lossdoctor.capture.closure_copies import closures_follow_copies
from lossdoctor.capture.direct_forward import called_method
from lossdoctor.capture.tensors import tensors_in

#: Where copies that are only kept (the model before its first update, the model as the run
#: left it) wait until an experiment uses them: on a GPU each would hold one more model of the
#: device's memory for the whole run (issue 12); the host's memory is larger.
KEPT_ON = torch.device("cpu")

#: Tensor types copied one by one onto KEPT_ON; subclasses (quantized, distributed) are left to
#: their own deepcopy.
PLAIN_TENSOR_TYPES = (torch.Tensor, nn.Parameter)


def kept_copy(model: nn.Module, on: torch.device = KEPT_ON) -> nn.Module:
    """A deep copy of ``model`` with its parameters and buffers on ``on``, copied tensor by
    tensor (never a whole second model on the device), gradients left behind. Warnings that
    copying raises stay inside lossdoctor: a Keras model warns that its optimizer's variables
    are not copied, which the user never asked for."""
    memo = {id(t): _copied(t, on) for t in (*model.parameters(), *model.buffers())
            if type(t) in PLAIN_TENSOR_TYPES}
    memo.update((id(t), _copied(t, on)) for t in _kept_outputs(model))
    with warnings.catch_warnings(), torch.no_grad(), closures_follow_copies():
        warnings.simplefilter("ignore")
        kept = copy.deepcopy(model, memo)
    return _called_as_trained(_trainable_scripts(kept, model, on), called_method(model))


def _trainable_scripts(kept: nn.Module, model: nn.Module, on: torch.device) -> nn.Module:
    """``kept`` with each TorchScript module in it made trainable (_trainable_script_copy): the
    model itself, or modules inside a plain one (fresh26 s05: TorchScript LSTM layers under an
    nn.Module, whose copied weights no longer required a gradient, so every replay trained the
    output layer alone)."""
    originals = dict(model.named_modules())
    scripted = [(name, module) for name, module in kept.named_modules()
                if isinstance(module, torch.jit.ScriptModule) and name in originals]
    if not scripted:
        return kept
    kept = kept.to(on)
    for name, module in scripted:
        _trainable_script_copy(module, originals[name])
    return kept


def _trainable_script_copy(kept: nn.Module, model: nn.Module) -> nn.Module:
    """A copy of a TorchScript module that replays can train. TorchScript copies its tensors
    in C++, with no Python memo: done while gradients are on, each parameter of the copy is a
    clone the original's autograd graph leads back to (an optimizer refuses it, "can't optimize
    a non-leaf Tensor", and a backward pass would reach the user's parameters); done under
    no_grad, each is a leaf that no longer requires a gradient. The copy's parameters take back
    the original's flags, and so do its own deep copies (the checks copy it again)."""
    wanted = {name: p.requires_grad for name, p in model.named_parameters()}
    for name, parameter in kept.named_parameters():
        parameter.requires_grad_(wanted.get(name, True))
    if not isinstance(kept, _TrainableCopies):
        kept.__class__ = type(type(kept).__name__, (_TrainableCopies, type(kept)), {})
    return kept


class _TrainableCopies:
    """Mixed into a kept TorchScript copy's class: its deep copies are made the same way."""

    def __deepcopy__(self, memo):
        with torch.no_grad():
            copied = super().__deepcopy__(memo)
        return _trainable_script_copy(copied, self)


def _called_as_trained(kept: nn.Module, method: str | None) -> nn.Module:
    """The copy, its ``forward`` the method training called the model through when that is
    another one (``-flow.log_prob(x).mean()``): every replay calls ``copy(*inputs)``. Set on
    the copy only (an instance attribute, which deep copies of the copy rebind to themselves);
    the user's model is never touched."""
    if method is not None and callable(getattr(type(kept), method, None)):
        kept.forward = types.MethodType(getattr(type(kept), method), kept)
    return kept


def _kept_outputs(model: nn.Module) -> list[torch.Tensor]:
    """Tensors of the last forward pass that a module keeps as attributes (``self.out = ...``,
    ``self.reps = [h1, h2]``: fresh30 s07, MultiBench's fusion model). They are part of an
    autograd graph, and ``deepcopy`` refuses such a tensor ("Only Tensors created explicitly by
    the user support the deepcopy protocol"); the copy gets them detached, as values."""
    return [tensor for module in model.modules()
            for name, value in vars(module).items() if name not in _MODULE_TABLES
            for tensor in tensors_in(value) if tensor.grad_fn is not None]


_MODULE_TABLES = frozenset({"_parameters", "_buffers", "_modules"})


def _copied(tensor: torch.Tensor, on: torch.device) -> torch.Tensor:
    data = tensor.detach().to(on, copy=True)
    if isinstance(tensor, nn.Parameter):
        return nn.Parameter(data, requires_grad=tensor.requires_grad)
    return data


def device_of(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer; None when it has neither."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return first.device if first is not None else None
