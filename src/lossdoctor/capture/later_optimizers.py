"""Steps of optimizers other than the first one seen, which the step events do not follow: only
whether they came after the first optimizer's last step, and whether they had any gradient to
apply. An optimizer built over tensors no forward pass uses (an earlier model's parameters, or
copies restored from a checkpoint) steps, and changes nothing. And which of the model's
parameters the first optimizer left out they step: those train too."""

from __future__ import annotations

from torch import nn

from lossdoctor.capture.model_setup import optimized, plain, training_settings
from lossdoctor.capture.tracing import plain_module
from lossdoctor.trace import Trace


def note_later_step(trace: Trace, optimizer, model: nn.Module | None) -> None:
    """Count a step of another optimizer. Whether any of its tensors has a gradient stops at
    the first that has one: O(1) a step in a loop that trains what it steps. The tensors are
    described once, at the first such step (a GAN's second optimizer steps at every batch)."""
    params = optimized(optimizer)
    if trace.setup.not_in_optimizer:
        _trained_by_another(trace.setup, params, model)
    if trace.later_optimizer_elements == 0:
        _describe(trace, optimizer, params, model)
    trace.later_optimizer_steps += 1
    if all(p.grad is None for p in params):
        trace.later_steps_without_gradients += 1


def forget_later_steps(trace: Trace) -> None:
    """The first optimizer stepped again: the other steps came before its last one."""
    if trace.later_optimizer_steps:
        trace.later_optimizer_steps = trace.later_steps_without_gradients = 0


def _describe(trace: Trace, optimizer, params: list, model: nn.Module | None) -> None:
    own = {id(p) for p in model.parameters()} if model is not None else set()
    trace.later_optimizer_class = type(optimizer).__name__
    trace.later_optimizer_hparams = plain(training_settings(optimizer))
    trace.later_optimizer_elements = sum(p.numel() for p in params)
    trace.later_optimizer_outside_model = sum(p.numel() for p in params if id(p) not in own)


def _trained_by_another(setup, params: list, model: nn.Module | None) -> None:
    """The model's parameters the first optimizer left out and this one steps do train: a run
    of two modules with an optimizer each (a seq2seq's encoder and decoder) whose first step
    read the decoder as the model and the encoder's optimizer as the optimizer. Read while some
    are left out, at each step of another optimizer (each may hold some of them)."""
    model = plain_module(model) if model is not None else None
    if model is None or type(model).__name__ != setup.model_class:
        return
    held = {id(p) for p in params}
    for name, param in model.named_parameters():
        if id(param) in held:
            setup.not_in_optimizer.pop(name, None)
