"""Run a Recorder's event handlers so that no error of lossdoctor's can reach the user's code,
and so that the torch calls they make are not taken for the script's (loss_chains.OWN_CALLS)."""

from __future__ import annotations

import functools

from lossdoctor.capture.loss_chains import OWN_CALLS
from lossdoctor.capture.tracing import compiler, dynamo_compiling, transforming


def guarded(handler):
    """An error inside ``handler`` is recorded and switches the recorder off (``broken``)."""
    return _guard(handler, skip_tracing=False)


def guarded_hook(handler):
    """``guarded``, for a handler PyTorch calls itself (a global module hook): it also ignores
    code being compiled or transformed (tracing()), whose tensors carry no values and in which
    the compiler must find nothing of lossdoctor's. The other handlers are reached through the
    hook layer's wrappers, which look first; so can a caller that looked already, through
    the hook's ``eager`` version."""
    hook = _guard(handler, skip_tracing=True)
    hook.eager = _guard(handler, skip_tracing=False)
    return hook


def _guard(handler, skip_tracing: bool):
    # tracing() spelled out: PyTorch calls a global hook on each of a deep model's hundreds of
    # module calls while a sampled pass names its activations (one Python call less each).
    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        if (skip_tracing and (dynamo_compiling() or compiler._is_compiling_flag
                              or transforming() is not None)) or self.broken:
            return None
        OWN_CALLS[0] += 1
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self.broken = True
            self.internal_errors.append(f"{handler.__name__}: {type(error).__name__}: {error}")
            return None
        finally:
            OWN_CALLS[0] -= 1

    return wrapper
