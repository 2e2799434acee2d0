"""Dropout that ran in the model's forward passes, however it is written: ``nn.Dropout`` (which
calls ``F.dropout``) and the functional calls a forward makes itself (``F.dropout(x, p,
training=self.training)``, as GCNs and many hand-written models do; ``F.dropout(x, p)``, whose
training flag defaults to True). A wrapper around each torch.nn.functional dropout function
notes the model's forward pass during which a call dropped (training=True, a rate above 0) and
whether the model was in eval mode then. A validation loss computed on such a pass was scored
with dropout on (checks/training_loop.py): a model left in train mode, or a call that
model.eval() does not reach. The wrapper calls the original with the same arguments and
returns its result: it draws no random number the run would not draw."""

from __future__ import annotations

import functools
import types

import torch.nn.functional as F

from lossdoctor.capture.guard import guarded
from lossdoctor.capture.tracing import compiler, dynamo_compiling, transforming
from lossdoctor.trace import Trace

#: torch.nn.functional's dropout functions; each takes (input, p=0.5, training=True, inplace).
DROPOUT_FUNCTIONS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                     "feature_alpha_dropout")
#: The rates kept in the trace: a model has a few dropout rates, not hundreds.
MAX_RATES = 8
#: Forward passes remembered: a loss computed with gradients on settles as validation at the
#: next optimizer step, a few passes later (more with gradient accumulation).
RECENT_PASSES = 64


def dropout_wrapper(recorder):
    """For one torch.nn.functional dropout function: the original's result, untouched; a call
    that drops inside the model's forward pass is told to ``recorder.dropout_ran``."""

    def wrap(original):
        return _scriptable(_counting(original, recorder), original)

    return wrap


def _counting(lossdoctor_original, lossdoctor_recorder):
    # Only closure names here (see _scriptable), none that torch's own source uses. Past one
    # drop noted in a forward pass, its other dropout calls cost this frame alone; code being
    # compiled is let through first, so that the compiler reads nothing of the recorder's.
    lossdoctor_seen, lossdoctor_compiling = _note_drop, dynamo_compiling

    def dropout(*args, **kwargs):
        output = lossdoctor_original(*args, **kwargs)
        if (not lossdoctor_compiling() and lossdoctor_recorder.inside_model
                and lossdoctor_recorder.dropout_forward != lossdoctor_recorder.forwards):
            lossdoctor_seen(lossdoctor_recorder, args, kwargs)
        return output

    return dropout


def _scriptable(wrapper, original):
    """``wrapper`` with the globals of ``original``'s module, and ``original`` as its
    ``__wrapped__``: TorchScript compiles the source of the function it is given (unwrapped) and
    resolves its names in that function's globals, so a model that calls F.dropout (nn.Dropout
    does) still scripts under ``lossdoctor run``."""
    rebuilt = types.FunctionType(wrapper.__code__, original.__globals__, wrapper.__name__,
                                 wrapper.__defaults__, wrapper.__closure__)
    return functools.update_wrapper(rebuilt, original)


def _note_drop(recorder, args: tuple, kwargs: dict) -> None:
    if compiler._is_compiling_flag or transforming() is not None:
        return
    rate = _argument(args, kwargs, 1, "p", 0.5)
    if _argument(args, kwargs, 2, "training", True) and rate:
        recorder.dropout_ran(rate)


def _argument(args: tuple, kwargs: dict, index: int, name: str, default):
    return args[index] if len(args) > index else kwargs.get(name, default)


def wrapped_functions():
    """(owner, name) of each dropout function the capture wraps: those written in Python
    (_scriptable rebuilds a wrapper with their globals)."""
    return [(F, name) for name in DROPOUT_FUNCTIONS
            if isinstance(getattr(F, name, None), types.FunctionType)]


class DropoutEvents:
    """The model's recent forward passes in which dropout ran; validation losses computed on
    one are counted into the trace when they settle as validation (loss_events._commit), which
    for a loss computed with gradients on is at the next optimizer step, after later passes."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    forwards: int

    def _start_dropout_events(self) -> None:
        #: The last forward pass in which a dropout call dropped (read by the wrappers).
        self.dropout_forward = -1
        #: forward pass -> (the model in eval mode then, the rate of its first call that dropped)
        self._dropped: dict[int, tuple[bool, float]] = {}

    @guarded
    def dropout_ran(self, rate) -> None:
        model = self.model
        self.dropout_forward = self.forwards
        self._dropped[self.forwards] = (model is not None and not model.training, float(rate))
        if len(self._dropped) > RECENT_PASSES:
            del self._dropped[min(self._dropped)]

    def _count_validation_dropout(self, forward: int) -> None:
        """A validation loss settled, computed on the model's forward pass ``forward``."""
        dropped = self._dropped.get(forward)
        if dropped is None:
            return
        trace = self.trace
        trace.validation_losses_dropped += 1
        trace.validation_losses_dropped_in_eval_mode += dropped[0]
        rates = trace.validation_dropout_rates
        if dropped[1] not in rates and len(rates) < MAX_RATES:
            rates.append(dropped[1])
