"""A model whose ``forward`` (or another method) is called directly, not through
``model(x)``: Lightning's ``y = self.forward(x)`` inside ``training_step``, ``model.forward(x)``
in a loop, a normalizing flow trained through ``-flow.log_prob(x).mean()``. PyTorch's module
hooks run in ``nn.Module.__call__``, so no hook sees such a model's pass: only the submodules
its method calls are seen, each looking like a model of its own (a Lightning transfer-learning
model was watched as its classifier head alone, fed the feature extractor's outputs; a flow as
one of its coupling layers).

Such a pass is found from the Python stack when a module is called outside any watched pass:
the outermost frame running a method of an ``nn.Module`` that was not called by
``nn.Module.__call__``, holds the called module among its submodules, and computes the model's
output rather than training or scoring it (its code neither steps an optimizer nor names a
loss). Its arguments are read from that frame, and its end (with the value it returns) is
caught by a profile function set only while that method runs between its submodules' calls,
so that the pass is recorded as if the model had been called: its inputs, its outputs, the
loss on them. A method other than ``forward`` that training called is noted
(``called_method``): copies of the model are replayed through it.
"""

from __future__ import annotations

import dis
import functools
import inspect
import sys
import weakref
from dataclasses import dataclass
from types import CodeType, FrameType

import torch
from torch import nn
from torch.nn.modules.loss import _Loss

from lossdoctor.capture.loss_program import TORCH_LOSSES

#: The code of torch's module call: a forward whose caller runs it was called as ``model(x)``.
_MODULE_CALLS = frozenset(
    getattr(nn.Module, name).__code__ for name in ("_call_impl", "_wrapped_call_impl")
    if hasattr(getattr(nn.Module, name, None), "__code__"))
#: Opcodes that bind or unbind a local name.
_STORES = frozenset({"STORE_FAST", "DELETE_FAST", "STORE_NAME", "DELETE_NAME"})
#: Names a method's code uses when it trains the model (a ``fit`` method's loop) rather than
#: computes its output: such a method's pass would hold the loss and the update.
_TRAINING_NAMES = frozenset({"backward", "manual_backward", "zero_grad", "step"})
#: Words in a method's names (its own, its locals', the attributes and functions it reads)
#: when it scores the model's output (a Lightning ``training_step``, ``loss = F.mse_loss(...)``)
#: rather than computes it: the loss must be computed outside the model's pass.
_SCORING_WORDS = ("loss", "criterion")
#: Where torch's own code lives: its modules' methods are never a user's model pass.
_TORCH_DIR = torch.__file__.rsplit("/", 1)[0] + "/"
#: The method other than ``forward`` through which training called each model (its name),
#: read by model_copy.kept_copy so that copies are replayed through it.
_CALLED_METHODS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class DirectPass:
    """A forward called directly, running now: the module, its frame, the arguments it was
    given (read when its first submodule was called)."""

    module: weakref.ref
    frame: FrameType
    args: tuple
    kwargs: dict


def direct_pass(called: nn.Module) -> DirectPass | None:
    """The forward called directly that ``called`` runs inside, if any, when its arguments
    can be read as it was given them (none was bound anew before ``called`` was called);
    None when the stack holds no such forward, or when another profile function (a profiler)
    is set: the pass's end could not be caught."""
    if sys.getprofile() is not None:
        return None
    found = None
    frame = sys._getframe(1)
    while frame is not None:
        owner = _direct_forward_owner(frame, called)
        if owner is not None:
            found = (owner, frame)
        frame = frame.f_back
    if found is None or not _arguments_as_given(found[1]):
        return None
    owner, frame = found
    args, kwargs = _arguments(frame)
    _note_method(owner, frame.f_code.co_name)
    return DirectPass(weakref.ref(owner), frame, args, kwargs)


def called_method(model: nn.Module) -> str | None:
    """The method other than ``forward`` through which training called ``model``, if any."""
    return _CALLED_METHODS.get(model)


def _note_method(owner: nn.Module, name: str) -> None:
    """The first method a training pass (gradients on, train mode) ran through is the one
    replays call: a ``predict`` method used in validation only does not replace ``forward``."""
    if name != "forward" and torch.is_grad_enabled() and owner.training:
        _CALLED_METHODS.setdefault(owner, name)


def on_stack(frame: FrameType) -> bool:
    """Whether ``frame`` is still running (one of the current call's callers)."""
    current = sys._getframe(1)
    while current is not None:
        if current is frame:
            return True
        current = current.f_back
    return False


def _direct_forward_owner(frame: FrameType, called: nn.Module) -> nn.Module | None:
    code = frame.f_code
    if not _computes_output(code):
        return None
    back = frame.f_back
    if back is not None and back.f_code in _MODULE_CALLS:
        return None  # called as model(x): its own hooks saw it
    owner = frame.f_locals.get(code.co_varnames[0])
    if not isinstance(owner, nn.Module) or isinstance(owner, _Loss) or owner is called:
        return None
    return owner if _holds(owner, called) else None


@functools.lru_cache(maxsize=1024)
def _computes_output(code: CodeType) -> bool:
    """Whether ``code`` may be a model's method that computes its output: ``forward``, or a
    method (its first argument ``self``) outside torch that neither trains nor scores."""
    if code.co_name == "forward":
        return code.co_argcount > 0
    if not code.co_argcount or code.co_varnames[0] != "self":
        return False
    if code.co_filename.startswith(_TORCH_DIR) or _TRAINING_NAMES & set(code.co_names):
        return False
    names = (code.co_name, *code.co_names, *code.co_varnames)
    return not any(_scores(name) for name in names)


def _scores(name: str) -> bool:
    lowered = name.lower()
    return (any(word in lowered for word in _SCORING_WORDS) or lowered in TORCH_LOSSES
            or lowered.endswith("_loss"))


def _holds(owner: nn.Module, called: nn.Module) -> bool:
    return any(module is called for module in owner.modules())


def _arguments_as_given(frame: FrameType) -> bool:
    """Whether no argument of the frame's function was bound anew before the current
    instruction (``x = x.flatten(1)`` before the first submodule's call): its locals are then
    the arguments the forward was given."""
    code = frame.f_code
    names = set(_argument_names(code))
    return not any(offset < frame.f_lasti and name in names for offset, name in _stores(code))


@functools.lru_cache(maxsize=256)
def _stores(code: CodeType) -> list[tuple[int, str]]:
    return [(i.offset, i.argval) for i in dis.get_instructions(code) if i.opname in _STORES]


def _argument_names(code: CodeType) -> tuple[str, ...]:
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return code.co_varnames[1:count]  # without self


def _arguments(frame: FrameType) -> tuple[tuple, dict]:
    """The forward's arguments as a call would give them: positional, then keyword-only,
    ``*args`` and ``**kwargs`` spread."""
    code, values = frame.f_code, frame.f_locals
    names = code.co_varnames
    positional = code.co_argcount
    keyword_only = names[positional:positional + code.co_kwonlyargcount]
    args = [values[name] for name in names[1:positional]]
    kwargs = {name: values[name] for name in keyword_only}
    at = positional + code.co_kwonlyargcount
    if code.co_flags & inspect.CO_VARARGS:
        args.extend(values[names[at]])
        at += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        kwargs.update(values[names[at]])
    return tuple(args), kwargs
