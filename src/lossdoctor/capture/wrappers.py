"""Wrappers for what PyTorch offers no hook for: functional losses, backward, zero_grad,
DataLoader iteration, torch.manual_seed, torch.compile. Each calls the original and returns its
result untouched; code being compiled or transformed (tracing()) gets the original alone."""

from __future__ import annotations

import contextlib
import functools
from contextlib import contextmanager

from torch import nn

from lossdoctor.capture.recorder import Recorder
from lossdoctor.capture.tracing import compiler, dynamo_compiling, tracing, transforming


@contextmanager
def wrapped(owner, name: str, make_wrapper):
    """``owner.name`` replaced by ``make_wrapper(original)`` inside the block."""
    original = getattr(owner, name, None)
    if original is None:
        yield
        return
    setattr(owner, name, make_wrapper(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def loss_wrapper(recorder: Recorder, name: str):
    def wrap(original):
        @functools.wraps(original)
        def loss(*args, **kwargs):
            if recorder._inside_loss or tracing():  # inside_loss_module, without its call
                return original(*args, **kwargs)
            recorder.loss_entered()  # a loss it calls (or a spy calls again) is not counted
            try:
                output = original(*args, **kwargs)
            finally:
                recorder.loss_left()
            prediction, target = _prediction_and_target(args, kwargs)
            if getattr(prediction, "is_meta", False):  # shape inference (Keras): no values
                return output
            extra = _replayed_settings(kwargs)
            recorder.loss_computed(name, original, prediction, target, output, extra)
            return output

        loss.lossdoctor_original = original  # what a recorded loss program calls instead
        return loss

    return wrap


def _replayed_settings(kwargs: dict) -> dict:
    """The call's settings, as a replay of the training uses them. A loss taken per element
    (``reduction="none"``, as Keras takes every loss) was reduced by the script before backward;
    the replays train on its mean, which is also what the recorded value is."""
    settings = {k: v for k, v in kwargs.items() if k not in ("input", "target")}
    if settings.get("reduction") == "none":
        settings["reduction"] = "mean"
    return settings


def _prediction_and_target(args, kwargs):
    prediction = args[0] if args else kwargs.get("input")
    target = args[1] if len(args) > 1 else kwargs.get("target")
    return prediction, target


def backward_wrapper(recorder: Recorder, on_backward=None):
    """For ``torch.autograd.backward``, which ``Tensor.backward`` calls too. Only the outermost
    call counts (reentrant checkpointing calls it again from inside a backward pass)."""

    def wrap(original):
        depth = [0]

        @functools.wraps(original)
        def backward(tensors, *args, **kwargs):
            # tracing() spelled out: one call less at every step.
            if (depth[0] or dynamo_compiling() or compiler._is_compiling_flag
                    or transforming() is not None):
                return original(tensors, *args, **kwargs)
            if on_backward is not None:
                on_backward()
            depth[0] += 1
            try:
                recorder.backward_started(tensors)
                result = original(tensors, *args, **kwargs)
            finally:
                depth[0] -= 1
            recorder.backward_finished(tensors)
            return result

        return backward

    return wrap


def loader_wrapper(recorder: Recorder):
    def wrap(original):
        @functools.wraps(original)
        def iterate(loader):
            if tracing():
                return original(loader)
            drawn = recorder.loader_started(loader)
            iterator = original(loader)
            with contextlib.suppress(AttributeError):  # without a __dict__: batches unnamed
                iterator._lossdoctor_loader = drawn
            return iterator

        return iterate

    return wrap


def batch_wrapper(recorder: Recorder):
    """For a loader iterator's ``__next__``: each batch names the loader it was drawn from
    (a training loop resumed after an evaluation pass draws from the training loader again,
    though the evaluation's loader was the last one started)."""

    def wrap(original):
        @functools.wraps(original)
        def next_batch(iterator):
            recorder.batch_drawn(getattr(iterator, "_lossdoctor_loader", None))
            return original(iterator)

        return next_batch

    return wrap


def seed_wrapper(recorder: Recorder):
    def wrap(original):
        @functools.wraps(original)
        def manual_seed(*args, **kwargs):
            if not tracing():
                recorder.reseeded()
            return original(*args, **kwargs)

        return manual_seed

    return wrap


def zero_grad_wrapper(recorder: Recorder):
    def wrap(original):
        @functools.wraps(original)
        def zero_grad(*args, **kwargs):
            # tracing() spelled out: one call less at every step.
            if dynamo_compiling() or compiler._is_compiling_flag or transforming() is not None:
                return original(*args, **kwargs)
            if recorder.update_awaited:  # an update by hand is done by now
                recorder.check_parameter_update()
            result = original(*args, **kwargs)
            recorder.zero_grad_called()
            return result

        return zero_grad

    return wrap


def load_state_dict_wrapper(recorder: Recorder):
    """For ``nn.Module.load_state_dict``: the recorder is told before weights are loaded."""

    def wrap(original):
        @functools.wraps(original)
        def load_state_dict(module, *args, **kwargs):
            recorder.weights_loading(module)
            return original(module, *args, **kwargs)

        return load_state_dict

    return wrap


def compile_wrapper(on_compiled):
    """For ``torch.compile`` and ``nn.Module.compile``: ``on_compiled`` is told of what was
    compiled (the compiled module, or a function), before its first call."""

    def wrap(original):
        @functools.wraps(original)
        def compile(*args, **kwargs):
            result = original(*args, **kwargs)
            target = args[0] if args else kwargs.get("model")
            in_place = result is None and isinstance(target, nn.Module)  # module.compile()
            on_compiled(target if in_place else result)
            return result

        return compile

    return wrap
