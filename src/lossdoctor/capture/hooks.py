"""Attach a Recorder to PyTorch's global hooks, and take everything off again in `finally`.

Module forward hooks and optimizer step hooks are PyTorch's own global registries. Functional
losses and DataLoader iteration have no hook, so they are wrapped; the wrappers call the
original and return its result untouched.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch.nn.functional as F
from torch.nn.modules import module as nn_module
from torch.nn.modules.loss import _Loss
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
        modules = ModuleHooks(recorder)
        stack.callback(modules.remove)
        for handle in _register_hooks(recorder, modules):
            stack.callback(handle.remove)
        for name in FUNCTIONAL_LOSSES:
            stack.enter_context(_wrapped(F, name, _loss_wrapper(recorder, name)))
        stack.enter_context(_wrapped(DataLoader, "__iter__", _loader_wrapper(recorder)))
        for owner in (optim_module.Optimizer, nn_module.Module):
            stack.enter_context(_wrapped(owner, "zero_grad", _zero_grad_wrapper(recorder)))
        yield recorder


class ModuleHooks:
    """Module hooks, as cheap as the run allows.

    Global hooks see every module call until the first optimizer step. If a single model was
    called by then (the recorder's ``sole_model``), they give way to a wrapper around that
    model's calls alone, so that its submodules run on PyTorch's fast path with no hook at all;
    the submodules are followed again only while the recorder is ``spying`` on a sampled
    forward pass (to name the activations), and loss modules are seen through
    ``_Loss.__call__``. The wrappers are set on the classes, never on the user's
    objects: a deepcopy of the model (the user's or ours) carries nothing of lossdoctor.
    Several models (a GAN, a backbone called apart) keep the global hooks.
    """

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.handles = self._global(recorder.forward_started, recorder.forward_finished)
        self.submodule_handles: list = []
        self.patched: list[tuple[type, object, object]] = []  # (class, its own __call__, ours)
        self.settled = False  # whether the first optimizer step has decided on narrowing

    @staticmethod
    def _global(started, finished) -> list:
        # Bound methods, not lambdas: one Python call less on every module call.
        return [
            nn_module.register_module_forward_pre_hook(started),
            nn_module.register_module_forward_hook(finished, with_kwargs=True, always_call=True),
        ]

    def settle(self) -> None:
        """Once, at the first optimizer step: narrow to the model if it is the only one."""
        self.settled = True
        model = self.recorder.sole_model
        if model is not None:
            self.narrow(model)

    def narrow(self, model) -> None:
        if isinstance(model, _Loss):
            return
        self._remove(self.handles)
        self._patch(_Loss, lambda module: True)
        model_ref = weakref.ref(model)
        self._patch(type(model), lambda module: module is model_ref())

    def _patch(self, cls: type, applies) -> None:
        own, inherited = cls.__dict__.get("__call__"), cls.__call__
        recorder, follow = self.recorder, self.follow_submodules

        def __call__(module, *args, **kwargs):
            if not applies(module):
                return inherited(module, *args, **kwargs)
            recorder.forward_started(module, args)
            follow(recorder.spying)
            output = None
            try:
                output = inherited(module, *args, **kwargs)
            finally:
                recorder.forward_finished(module, args, kwargs, output)
                follow(recorder.spying)
            return output

        cls.__call__ = __call__
        self.patched.append((cls, own, __call__))

    def follow_submodules(self, on: bool) -> None:
        if on and not self.submodule_handles and self.patched:
            recorder = self.recorder
            self.submodule_handles = self._global(recorder.submodule_started,
                                                  recorder.submodule_finished)
        elif not on:
            self._remove(self.submodule_handles)

    def remove(self) -> None:
        self._remove(self.handles)
        self._remove(self.submodule_handles)
        for cls, own, ours in reversed(self.patched):
            if cls.__dict__.get("__call__") is ours:
                if own is None:
                    del cls.__call__
                else:
                    cls.__call__ = own
        self.patched.clear()

    @staticmethod
    def _remove(handles: list) -> None:
        while handles:
            handles.pop().remove()


def _register_hooks(recorder: Recorder, modules: ModuleHooks) -> list:
    return [
        optim_module.register_optimizer_step_pre_hook(
            lambda optimizer, args, kwargs: _before_step(recorder, modules, optimizer)
        ),
        optim_module.register_optimizer_step_post_hook(
            lambda optimizer, args, kwargs: recorder.step_finished(optimizer)
        ),
    ]


def _before_step(recorder: Recorder, modules: ModuleHooks, optimizer) -> None:
    recorder.on_step()  # first: a listener that stops the run stops it before this step
    recorder.step_started(optimizer)
    if not modules.settled:
        modules.settle()


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
