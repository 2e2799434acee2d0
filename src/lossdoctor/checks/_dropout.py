"""Dropout in a model: in its layers (``nn.Dropout``, attention dropout, the dropout between the
layers of a stacked ``nn.LSTM``/``GRU``/``RNN``) and in calls its forward makes itself
(``F.dropout(x, p, self.training)``, as fairseq's models and many hand-written MLPs do;
``F.scaled_dot_product_attention(..., dropout_p=p)``, as nanoGPT's attention does), and a copy
of the model that drops nothing in either.

The calls are seen through a torch function mode: every dropout function the forward calls
(``nn.Dropout`` calls ``F.dropout`` too) passes through it, with its rate, and can be given a
rate of 0 instead.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from lossdoctor.sandbox import isolated

DROPOUT_LAYERS = (
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
#: torch's own functions, also when this is imported while the capture wraps them
#: (capture/dropout_events.py).
DROPOUT_FUNCTIONS = tuple(inspect.unwrap(f) for f in (
    F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout,
    torch.dropout, torch.alpha_dropout, torch.feature_dropout, torch.feature_alpha_dropout,
))
#: Functions that drop inside a larger computation: where their rate is (position, name); they
#: have no training flag (a caller in eval mode passes a rate of 0).
DROPPING_FUNCTIONS = {F.scaled_dot_product_attention: (4, "dropout_p")}


class DropoutCalls(TorchFunctionMode):
    """Records the rate of each dropout call made in training (``rates``); with ``off``, each
    such call is made with a rate of 0 (it drops nothing)."""

    def __init__(self, off: bool = False) -> None:
        super().__init__()
        self.off = off
        self.rates: list[float] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        where = _rate_argument(func)
        if where is not None:
            args = list(args)
            rate = _argument(args, kwargs, *where)
            training = func in DROPPING_FUNCTIONS or _training(args, kwargs)
            if training and isinstance(rate, (int, float)) and rate > 0:
                self.rates.append(float(rate))
                if self.off:
                    _set_argument(args, kwargs, *where[:2], 0.0)
        return func(*args, **kwargs)


def _rate_argument(func) -> tuple[int, str, float] | None:
    """Where a dropping function takes its rate: (position, name, default)."""
    if func in DROPOUT_FUNCTIONS:
        return 1, "p", 0.5
    if func in DROPPING_FUNCTIONS:
        return (*DROPPING_FUNCTIONS[func], 0.0)
    return None


def _argument(args: list, kwargs: dict, index: int, name: str, default):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _set_argument(args: list, kwargs: dict, index: int, name: str, value) -> None:
    if name in kwargs or len(args) <= index:
        kwargs[name] = value
    else:
        args[index] = value


def _training(args: list, kwargs: dict) -> bool:
    """The call's training flag: ``training`` (torch.nn.functional) or ``train`` (torch)."""
    flag = kwargs.get("training", kwargs.get("train"))
    if flag is None:
        flag = args[2] if len(args) > 2 else True
    return bool(flag)


def layer_rates(model: nn.Module) -> dict[str, float]:
    """Drop probability of each dropout layer (and attention dropout) that drops anything."""
    rates = {}
    for name, module in model.named_modules():
        p = _drop_probability(module)
        if p > 0:
            rates[name or type(module).__name__] = p
    return rates


def _drop_probability(module: nn.Module) -> float:
    if isinstance(module, DROPOUT_LAYERS):
        return float(module.p)
    if isinstance(module, nn.MultiheadAttention):
        return float(module.dropout)
    if isinstance(module, nn.RNNBase) and module.num_layers > 1:
        return float(module.dropout)  # between its layers; a single layer ignores it
    return 0.0


def called_rates(model: nn.Module, forward) -> list[float]:
    """The rates of the dropout calls a training-mode forward of ``model`` makes outside its
    dropout layers (``forward(model)`` runs it, as the script calls it); [] when it cannot
    run. Measured on a copy with its layers' dropout off, under no_grad and a fixed seed."""
    quiet = _layers_off(copy.deepcopy(model)).train()
    calls = DropoutCalls()
    try:
        with isolated(0), torch.no_grad(), calls:
            forward(quiet)
    except Exception:  # noqa: BLE001 - a forward this cannot run has no calls to read
        return []
    return calls.rates


def without_dropout(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` that drops nothing: its dropout layers at rate 0, and each
    dropout call its forward makes given a rate of 0."""
    model = _layers_off(copy.deepcopy(model))
    with contextlib.suppress(TypeError):  # a class that cannot be extended keeps its calls
        model.__class__ = _dropping_nothing(type(model))
    return model


def _layers_off(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, DROPOUT_LAYERS):
            module.p = 0.0
        elif isinstance(module, (nn.MultiheadAttention, nn.RNNBase)):
            module.dropout = 0.0
    return model


@functools.cache
def _dropping_nothing(cls: type) -> type:
    """``cls`` with a forward that runs with every dropout call's rate 0."""
    if getattr(cls, "_drops_nothing", False):
        return cls

    def forward(self, *args, **kwargs):
        with DropoutCalls(off=True):
            return cls.forward(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"forward": forward, "_drops_nothing": True,
                                       "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__})
