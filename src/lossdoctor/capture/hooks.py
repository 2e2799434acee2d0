"""Attach a Recorder to PyTorch's global hooks, and take everything off again in `finally`.

Module forward hooks and optimizer step hooks are PyTorch's own global registries. Functional
losses and DataLoader iteration have no hook, so they are wrapped; the wrappers call the
original and return its result untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch.nn.functional as F
from torch.nn.modules import module as nn_module
from torch.optim import optimizer as optim_module
from torch.utils.data import DataLoader

from lossdoctor.capture.recorder import Recorder

FUNCTIONAL_LOSSES = (
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "hinge_embedding_loss",
    "multi_margin_loss",
)


@contextmanager
def watching(recorder: Recorder) -> Iterator[Recorder]:
    """Every training event inside the block reaches ``recorder``."""
    with ExitStack() as stack:
        for handle in _register_hooks(recorder):
            stack.callback(handle.remove)
        for name in FUNCTIONAL_LOSSES:
            stack.enter_context(_wrapped(F, name, _loss_wrapper(recorder, name)))
        stack.enter_context(_wrapped(DataLoader, "__iter__", _loader_wrapper(recorder)))
        for owner in (optim_module.Optimizer, nn_module.Module):
            stack.enter_context(_wrapped(owner, "zero_grad", _zero_grad_wrapper(recorder)))
        yield recorder


def _register_hooks(recorder: Recorder) -> list:
    return [
        nn_module.register_module_forward_pre_hook(
            lambda module, args: recorder.forward_started(module, args)
        ),
        nn_module.register_module_forward_hook(
            lambda module, args, kwargs, output: recorder.forward_finished(
                module, args, kwargs, output
            ),
            with_kwargs=True,
            always_call=True,
        ),
        optim_module.register_optimizer_step_pre_hook(
            lambda optimizer, args, kwargs: recorder.step_started(optimizer)
        ),
        optim_module.register_optimizer_step_post_hook(
            lambda optimizer, args, kwargs: recorder.step_finished(optimizer)
        ),
    ]


@contextmanager
def _wrapped(owner, name: str, make_wrapper):
    original = getattr(owner, name, None)
    if original is None:
        yield
        return
    setattr(owner, name, make_wrapper(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def _loss_wrapper(recorder: Recorder, name: str):
    def wrap(original):
        @functools.wraps(original)
        def loss(*args, **kwargs):
            output = original(*args, **kwargs)
            if not recorder.inside_loss_module:
                prediction, target = _prediction_and_target(args, kwargs)
                extra = {k: v for k, v in kwargs.items() if k not in ("input", "target")}
                recorder.loss_computed(name, original, prediction, target, output, extra)
            return output

        return loss

    return wrap


def _prediction_and_target(args, kwargs):
    prediction = args[0] if args else kwargs.get("input")
    target = args[1] if len(args) > 1 else kwargs.get("target")
    return prediction, target


def _loader_wrapper(recorder: Recorder):
    def wrap(original):
        @functools.wraps(original)
        def iterate(loader):
            recorder.loader_started(loader)
            return original(loader)

        return iterate

    return wrap


def _zero_grad_wrapper(recorder: Recorder):
    def wrap(original):
        @functools.wraps(original)
        def zero_grad(*args, **kwargs):
            result = original(*args, **kwargs)
            recorder.zero_grad_called()
            return result

        return zero_grad

    return wrap
