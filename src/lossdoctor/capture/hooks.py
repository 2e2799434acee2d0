"""Attach a Recorder to PyTorch's global hooks, and take everything off again in `finally`.

Module forward hooks and optimizer step hooks are PyTorch's own global registries. Functional
losses, backward, zero_grad, DataLoader iteration, torch.manual_seed, torch.compile and gradient
clipping have no hook, so they are wrapped (wrappers.py, clipping.py); the wrappers call the
original and return its result untouched.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import product
from types import MethodType

import torch
import torch.nn.functional as F
from torch.nn.modules import module as nn_module
from torch.nn.modules.loss import _Loss
from torch.nn.utils import clip_grad
from torch.optim import optimizer as optim_module
from torch.utils.data import DataLoader
from torch.utils.data.dataloader import _BaseDataLoaderIter

from lossdoctor.capture.clipping import clip_wrapper
from lossdoctor.capture.closure_steps import ClosureSteps, closure_of
from lossdoctor.capture.dropout_events import dropout_wrapper, wrapped_functions
from lossdoctor.capture.recorder import Recorder
from lossdoctor.capture.script_output import TensorBoardHook
from lossdoctor.capture.tracing import compiler, dynamo_compiling, transforming
from lossdoctor.capture.wrappers import (
    backward_wrapper,
    batch_wrapper,
    compile_wrapper,
    load_state_dict_wrapper,
    loader_wrapper,
    loss_wrapper,
    seed_wrapper,
    wrapped,
    zero_grad_wrapper,
)

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
        stack.callback(recorder.leave_spies)  # last: whatever broke, no spy outlives the block
        stack.enter_context(criteria_passed_through())  # before ModuleHooks: taken off after
        modules = ModuleHooks(recorder)
        stack.callback(modules.remove)
        tensorboard = TensorBoardHook(recorder)
        stack.callback(tensorboard.remove)
        for handle in _register_hooks(recorder, modules):
            stack.callback(handle.remove)
        for name in FUNCTIONAL_LOSSES:
            stack.enter_context(wrapped(F, name, loss_wrapper(recorder, name)))
        for owner, name in wrapped_functions():
            stack.enter_context(wrapped(owner, name, dropout_wrapper(recorder)))
        stack.enter_context(wrapped(torch.autograd, "backward",
                                    backward_wrapper(recorder, tensorboard.look)))
        stack.enter_context(wrapped(DataLoader, "__iter__", loader_wrapper(recorder)))
        stack.enter_context(wrapped(_BaseDataLoaderIter, "__next__", batch_wrapper(recorder)))
        stack.enter_context(wrapped(torch, "manual_seed", seed_wrapper(recorder)))
        for owner in (optim_module.Optimizer, nn_module.Module):
            stack.enter_context(wrapped(owner, "zero_grad", zero_grad_wrapper(recorder)))
        stack.enter_context(wrapped(nn_module.Module, "load_state_dict",
                                    load_state_dict_wrapper(recorder)))
        for owner in (torch, nn_module.Module):
            stack.enter_context(wrapped(owner, "compile", compile_wrapper(modules.compiled)))
        for owner, kind in product((torch.nn.utils, clip_grad), ("norm", "value")):
            stack.enter_context(wrapped(owner, f"clip_grad_{kind}_", clip_wrapper(recorder, kind)))
        yield recorder


def criterion_around_model(module, args: tuple, kwargs: dict) -> bool:
    """A torch.nn loss class called with the model, not with a prediction: fairseq's
    ``criterion(model, sample)`` (a ``_Loss`` subclass whose forward runs the model and a torch
    loss on its output). It is not the run's loss: the torch loss it calls inside is, and the
    model it runs is the model's pass."""
    first = args[0] if args else next(iter(kwargs.values()), None)
    return isinstance(module, _Loss) and isinstance(first, nn_module.Module)


@contextmanager
def criteria_passed_through() -> Iterator[None]:
    """A criterion around the model (criterion_around_model) runs its forward without the
    module hooks of a loss call: the global hooks, which take every ``_Loss`` call for a loss
    on (prediction, target), would hide the model's pass and the torch loss inside it. One with
    hooks of its own is called as usual. Any other call goes to the ``__call__`` torch gave
    ``_Loss`` (ModuleHooks wraps this one when it narrows: a call through nn.Module's wrapper
    as well would be watched twice)."""
    own = _Loss.__dict__.get("__call__")
    inherited = _Loss.__call__

    def __call__(module, *args, **kwargs):
        if criterion_around_model(module, args, kwargs) and not _own_hooks(module):
            return module.forward(*args, **kwargs)
        return inherited(module, *args, **kwargs)

    __call__.passes_to = inherited  # what ModuleHooks calls for a loss it found no criterion
    _Loss.__call__ = __call__
    try:
        yield
    finally:
        if own is None:
            del _Loss.__call__
        else:
            _Loss.__call__ = own


def _own_hooks(module) -> bool:
    return any(getattr(module, name, None) for name in (
        "_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"))


class ModuleHooks:
    """Module hooks, as cheap as the run allows.

    Global hooks see every module call until the first optimizer step. If a single model was
    called by then (the recorder's ``sole_model``), they give way to a wrapper that watches
    that model's calls and the loss modules' alone, so that its submodules run on PyTorch's
    fast path, past one identity check; the submodules are followed again only while the
    recorder is ``spying`` on a sampled forward pass (to name the activations). The wrapper
    is set on torch's class that defines ``__call__`` (``nn.Module``), never on the user's
    class (which introspection would show) or objects: a deepcopy of the model (the user's or
    ours) carries nothing of lossdoctor. A model whose class defines its own ``__call__``
    keeps the global hooks. Once torch.compile was used, the model's own class is wrapped
    instead: compiled code inlines ``nn.Module.__call__``, and a change to it would recompile.
    Several models (a GAN, a backbone called apart) keep the global hooks.

    A compiled model (``torch.compile(model)``, ``model.compile()``) is narrowed to as soon as
    it is compiled: its calls are then watched from outside the compiled code, and no global
    hook is left for the compiler to trace (or for torch.compile to warn about).
    """

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.handles = self._global(recorder.forward_started, recorder.forward_finished)
        self.submodule_handles: list = []
        self.patched: list[tuple[type, object, object]] = []  # (class, its own __call__, ours)
        self.narrowed: list[weakref.ref] = []  # the models whose calls are wrapped
        self.narrowed_ids: set[int] = set()  # their ids, for a fast "not one of them"
        #: Their classes: another instance (an EMA copy validated in its place, a teacher) is
        #: watched too, so that a loss on its output is not taken for the model's.
        self.narrowed_types: set[type] = set()
        self.settled = False  # whether the first optimizer step has decided on narrowing
        #: torch's classes of the narrowed models' parts whose calls skip the wrapper
        #: (exempt_parts), and the ``__call__`` set on them.
        self.exempted: list[tuple[type, object]] = []
        self.compiler_used = False  # torch.compile or module.compile() was called

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

    def compiled(self, compiled) -> None:
        """Something was compiled; a module's calls are watched from outside the compiled code."""
        self.recorder.compile_used()
        self.compiler_used = True
        self._unexempt()
        if isinstance(compiled, nn_module.Module):
            self.narrow(compiled)

    def narrow(self, model) -> None:
        if isinstance(model, _Loss) or any(ref() is model for ref in self.narrowed):
            return
        owner = _call_owner(type(model))
        if owner is None:  # the user's class has its own __call__: the global hooks stay
            return
        if self.compiler_used:  # compiled code inlines nn.Module.__call__: it stays torch's
            owner = type(model)
        self._remove(self.handles)
        self.narrowed.append(weakref.ref(model))
        self.narrowed_ids.add(id(model))
        self.narrowed_types.add(type(model))
        for cls in (_Loss, owner):  # _Loss is torch's: its subclasses are left as written
            if all(cls is not patched for patched, _, _ in self.patched):
                self._patch(cls)
        self._exempt_parts()

    def _exempt_parts(self) -> None:
        """The narrowed models' parts of torch's own classes (Linear, ReLU, Conv2d ...) skip
        the wrapper: torch's ``__call__`` is set on their class, so their calls cost no frame
        of lossdoctor's (the wrapper lets them through after a set lookup, a frame on each of
        a deep model's hundreds of calls a step). A class stays wrapped when it is watched,
        when a watched class inherits from it (its ``__call__`` would be theirs), when it
        defines its own ``__call__``, or is a loss; nothing once torch.compile was used (its
        code inlines the call). Sampled steps' submodule hooks are torch's global hooks,
        which torch's own call runs: they see every part as before."""
        self._unexempt()
        wrapped_call = next(((own, ours) for cls, own, ours in self.patched
                             if cls is nn_module.Module), None)
        if wrapped_call is None or wrapped_call[0] is None or self.compiler_used:
            return
        torch_call, patched = wrapped_call
        watched = self.narrowed_types
        parts = {type(part) for ref in self.narrowed if ref() is not None
                 for part in ref().modules()}
        for cls in parts:
            if (cls.__module__.split(".")[0] == "torch" and "__call__" not in cls.__dict__
                    and cls.__call__ is patched and not issubclass(cls, _Loss)
                    and not any(issubclass(kind, cls) for kind in watched)):
                cls.__call__ = torch_call
                self.exempted.append((cls, torch_call))

    def _unexempt(self) -> None:
        while self.exempted:
            cls, ours = self.exempted.pop()
            if cls.__dict__.get("__call__") is ours:
                del cls.__call__

    def _patch(self, cls: type) -> None:
        """Wrap ``cls.__call__``: ``cls`` is torch's own (``_Loss``, ``nn.Module`` or
        torch.compile's wrapper), never the user's, which stays as it was written."""
        own, inherited = cls.__dict__.get("__call__"), cls.__call__
        # A loss watched is no criterion around the model: criteria_passed_through's wrapper,
        # which would ask again, is passed.
        plain = getattr(inherited, "passes_to", inherited)
        recorder, follow = self.recorder, self.follow_submodules
        narrowed = self.narrowed
        events = type(recorder)  # the handlers' eager versions: tracing() was looked at here
        started = MethodType(events.forward_started.eager, recorder)
        finished = MethodType(events.forward_finished.eager, recorder)
        steady_started = MethodType(events.steady_forward_started, recorder)
        steady_finished = MethodType(events.steady_forward_finished, recorder)

        # Every call of every module passes here: tracing() is spelled out, and a module of no
        # watched class is let through after one set lookup, before the compile check (~0.1 us
        # less on each of a deep model's hundreds of module calls a step). Code torch.compile
        # traces sees the lookup too: Dynamo guards on the set's classes (a new class narrowed
        # to recompiles once) and folds the rest, dynamo_compiling() first, before any state of
        # the recorder is read. One of the model's class inside a watched pass (a block of a
        # Sequential of Sequentials) is let through after the compile check.
        compiling, flags, transformed = dynamo_compiling, compiler, transforming  # closure cells
        watched_types, narrowed_ids = self.narrowed_types, self.narrowed_ids
        following = self.submodule_handles  # filled and emptied in place (follow_submodules)

        # Watched: a loss (not a criterion around the model, criterion_around_model), a model
        # narrowed to, or another instance of its class called on its own (an EMA copy). One
        # called inside a watched pass is a part of the model (a Sequential of Sequentials):
        # watching it would send every block of such a model through the recorder, for nothing.
        def __call__(module, *args, **kwargs):
            loss = isinstance(module, _Loss)
            if ((type(module) not in watched_types and not loss)
                    or compiling() or flags._is_compiling_flag or transformed() is not None):
                return inherited(module, *args, **kwargs)
            if loss:  # criterion_around_model spelled out: one call less at every step
                first = args[0] if args else next(iter(kwargs.values()), None)
                if isinstance(first, nn_module.Module):
                    return inherited(module, *args, **kwargs)
            elif recorder._depth:  # inside a watched pass: the model itself only
                if id(module) not in narrowed_ids:
                    return inherited(module, *args, **kwargs)
                for ref in narrowed:  # a loop, not any(): no generator on the model's calls
                    if ref() is module:
                        break
                else:
                    return inherited(module, *args, **kwargs)
            if recorder._steady and steady_started(module, args):  # an ordinary step's call
                try:
                    output = plain(module, *args, **kwargs)
                except BaseException:
                    recorder._leave_steady()
                    finished(module, args, kwargs, None)
                    raise
                if recorder._steady:
                    steady_finished(module, args, kwargs, output)
                else:  # the step left the steady state inside this call
                    finished(module, args, kwargs, output)
                return output
            started(module, args)
            if following or recorder._spy is not None:  # else follow() would do nothing
                follow(recorder.spying)
            output = None
            try:
                output = plain(module, *args, **kwargs)
            finally:
                finished(module, args, kwargs, output)
                if following or recorder._spy is not None:
                    follow(recorder.spying)
            return output

        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(__call__, name, getattr(inherited, name, None))
        cls.__call__ = __call__
        self.patched.append((cls, own, __call__))

    def follow_submodules(self, on: bool) -> None:
        if on and not self.submodule_handles and self.patched:
            recorder = self.recorder
            self.submodule_handles.extend(self._global(recorder.submodule_started,
                                                       recorder.submodule_finished))
        elif not on:
            self._remove(self.submodule_handles)

    def remove(self) -> None:
        self._remove(self.handles)
        self._remove(self.submodule_handles)
        self._unexempt()
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
            handle = handles.pop()
            handle.remove()
            # PyTorch's handle forgets this registry: left there, the hook still counts as
            # present (torch.compile warns about global hooks that are gone).
            getattr(nn_module, "_global_forward_hooks_with_kwargs", {}).pop(handle.id, None)


def _call_owner(cls: type) -> type | None:
    """The class whose ``__call__`` a call of a ``cls`` instance runs, if it is torch's."""
    owner = next(c for c in cls.__mro__ if "__call__" in c.__dict__)
    return owner if owner.__module__.split(".")[0] == "torch" else None


def _register_hooks(recorder: Recorder, modules: ModuleHooks) -> list:
    # tracing() spelled out, as in the module wrapper: one call less at each step's two hooks.
    compiling, flags, transformed = dynamo_compiling, compiler, transforming

    def start(optimizer) -> None:
        recorder.step_started(optimizer)
        if not modules.settled:
            modules.settle()

    def before_step(optimizer, args, kwargs):
        if compiling() or flags._is_compiling_flag or transformed() is not None:
            return None
        closure = closure_of(args, kwargs) if len(args) > 1 or kwargs else None
        if closure is None:  # start() spelled out: one call less a step
            recorder.step_started(optimizer)
            if not modules.settled:
                modules.settle()
            return None
        recorder._leave_steady()  # a closure's passes run inside the step: the full handlers
        recorder.closure_given()
        return closures.watched(optimizer, args, kwargs, closure)

    def after_step(optimizer, args, kwargs) -> None:
        if not (compiling() or flags._is_compiling_flag or transformed() is not None):
            if closures.pending is not None:  # a closure the optimizer never called
                closures.started()
            recorder.step_finished(optimizer)

    closures = ClosureSteps(start)

    return [
        optim_module.register_optimizer_step_pre_hook(before_step),
        optim_module.register_optimizer_step_post_hook(after_step),
    ]
