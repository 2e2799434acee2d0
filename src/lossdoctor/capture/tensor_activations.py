"""Activations of a model written as plain tensors (``torch.relu(x @ w + b)``), on sampled
steps. Such a model has no forward pass to hook, so a sampled step is watched from the optimizer
step before it to its backward pass: an ActivationSpy (a TorchFunctionMode) is on the stack
only then, and off for the steps that are not sampled. Only activations computed with
gradients count (the training forward); each is named after the user's line that called it
("torch.relu at train.py:42", numbered when a loop over the layers calls it again)."""

from __future__ import annotations

import torch
from torch.overrides import _get_current_function_mode

from lossdoctor.capture.activations import ActivationSpy, call_site
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.loss_chains import WAITING, in_own_calls, take_off_done_spies


class StepActivationSpy(ActivationSpy):
    """An ActivationSpy that stays on the stack from one optimizer step to the next; ``armed``
    while a sampled step's forward may run, ``done`` once left (calls then pass straight
    through until it is off the stack: loss_chains.take_off_done_spies)."""

    def __init__(self, on_activation) -> None:
        super().__init__(on_activation)
        self.armed = True
        self.done = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if not self.armed or self.done or in_own_calls() or not torch.is_grad_enabled():
            return func(*args, **(kwargs or {}))
        return super().__torch_function__(func, types, args, kwargs)

    def leave(self) -> None:
        self.done = True
        WAITING.append(self)
        take_off_done_spies()


class TensorActivations:
    """Called by the step events (a step ended), the backward events (a pass ended) and
    Recorder.leave_spies (the run ended)."""

    def _start_tensor_activations(self) -> None:
        self._step_spy: StepActivationSpy | None = None

    @guarded
    def _watch_tensor_step(self) -> None:
        """After an optimizer step of a model written as plain tensors: watch the next step when
        it is sampled, else take the spy off the stack."""
        if self.model is not None or self._compile_used or not self.sampled:
            self._stop_step_spy()
            return
        if self._step_spy is None:
            self._places.clear()
            self._step_spy = StepActivationSpy(self._record_tensor_activation)
            self._step_spy.__enter__()
        else:
            self._places.clear()
            self._step_spy.armed = True

    @guarded
    def _tensor_pass_ended(self) -> None:
        """At a backward pass: the step's activations join the trace."""
        if self._step_spy is not None and self._step_spy.armed:
            self._step_spy.armed = False
            self._read_activations()

    def _stop_step_spy(self) -> None:
        spy, self._step_spy = self._step_spy, None
        if spy is None:
            return
        spy.armed = False
        self._read_activations()
        if _get_current_function_mode() is spy:
            spy.__exit__(None, None, None)
            take_off_done_spies()
        else:
            spy.leave()

    @guarded
    def _record_tensor_activation(self, kind: str, output: torch.Tensor) -> None:
        if output.requires_grad:
            self._record_at(f"torch.{kind} at {call_site()}", kind, output)
