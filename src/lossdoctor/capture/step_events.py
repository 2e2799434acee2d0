"""Optimizer steps: the first one describes the run's setup; each one counts, is sampled or
not, and checks that the gradients were reset since the last one.

A reset is zero_grad() (optimizer or module), gradients set to None by hand (new gradient tensors
at the next step), or gradients zeroed in place by hand (``p.grad.data.zero_()``, which neither
zero_grad nor the gradient's version counter sees): a backward pass that starts, after a step,
on gradients that are all zero or None.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch

from lossdoctor.capture.copies import Copies
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.later_optimizers import forget_later_steps, note_later_step
from lossdoctor.capture.lr_reactive import cut_on_plateau
from lossdoctor.capture.model_setup import (
    describe_model,
    describe_optimizer,
    describe_tensors,
    describe_untrained,
    optimized,
)
from lossdoctor.capture.schedule import Schedule
from lossdoctor.capture.tracing import plain_module
from lossdoctor.lr_schedule import training_group_lr
from lossdoctor.trace import Trace

#: Tensors whose gradients are read to see a reset by hand: a loop resets them all together,
#: and a model's first few stand for the rest (as the update fingerprint's do, update_events.py).
RESET_TENSORS = 64


class StepEvents:
    """Steps of the first optimizer seen; other optimizers' steps are ignored."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    copies: Copies
    schedule: Schedule
    sampled: bool
    broken: bool
    internal_errors: list[str]
    listener: Callable | None
    _listener_told_every_step: bool
    events_since_step: bool
    validated_since_step: bool
    _optimizer_ref: weakref.ref | None
    _before_update: dict  # gradient_events: filled on a sampled step, emptied after it

    def _start_step_events(self) -> None:
        self._zeroed_since_step = False
        self._zero_grad_called = False  # since the last step
        #: zero_grad() was called before the last step: the next step's gradients are not
        #: compared (see _remember_gradients).
        self._zero_grad_before_step = False
        #: The first optimized parameter's gradient after the last step, weakly held.
        self._grad_after_step: weakref.ref | None = None
        self._next_sampled = 0  # the first step from which the schedule is asked again

    @guarded
    def step_started(self, optimizer: torch.optim.Optimizer) -> None:
        """Before an optimizer step: the losses since the last one are settled (training or
        evaluation), the listener is told (one that stops the run stops it before this step),
        then the step is described, counted and sampled."""
        self._settle_losses()
        if self._tensor_spy is not None:
            self._pause_tensor_spy(True)
        self.on_step()
        if self._optimizer_ref is None:
            self._first_step(optimizer)
        elif self._optimizer_ref() is not optimizer:
            note_later_step(self.trace, optimizer, self.model)
            return
        self._count_zero_grad()
        groups = optimizer.param_groups
        lr = groups[0].get("lr") if groups else None  # _group_lr's common case, without its call
        if type(lr) is not float or lr <= 0:
            lr = training_group_lr(groups)
        if self.sampled or not isinstance(lr, torch.Tensor):  # a tensor's value costs a sync
            lr, setup = float(lr), self.trace.setup
            if lr != setup.lr_last or setup.lr_first is None:  # else follow_lr changes nothing
                self._note_first_cut(optimizer, lr)
                setup.follow_lr(self.step, lr)
        if self.sampled:
            self.trace.learning_rates.append(float(lr))
            self._record_gradients(optimized(optimizer))

    def _note_first_cut(self, optimizer: torch.optim.Optimizer, lr: float) -> None:
        """At the first step whose rate is below the one before, whether a plateau scheduler
        made the cut (Setup.lr_reactive)."""
        setup = self.trace.setup
        if setup.lr_reactive is None and setup.lr_last is not None and lr < setup.lr_last:
            setup.lr_reactive = cut_on_plateau(optimizer)

    def on_step(self) -> None:
        """Tell the listener a step is about to be taken: at every step, or, for a listener
        whose ``told_every_step`` is False (the Monitor), at the first step and at those after
        a validation loss or a new data-loader pass (events_since_step). Its errors are
        recorded like ours, except a deliberate stop (a BaseException such as StopRun), which
        goes through."""
        listener = self.listener
        if listener is None or self.broken or not self._listener_due():
            return
        try:
            listener(self)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self.listener = None
            self.internal_errors.append(f"listener: {type(error).__name__}: {error}")
        finally:
            self.events_since_step = self.validated_since_step = False

    def _listener_due(self) -> bool:
        return self.events_since_step or self._listener_told_every_step or self.trace.steps == 0

    @guarded
    def step_finished(self, optimizer: torch.optim.Optimizer) -> None:
        if self._tensor_spy is not None:
            self._pause_tensor_spy(False)
        if self._optimizer_ref is None or self._optimizer_ref() is not optimizer:
            return
        if self._before_update:  # a sampled step: listing the parameters costs on deep models
            self._record_updates(optimized(optimizer))
        if self._zero_grad_before_step:  # what _remember_gradients does then, without its call
            self._grad_after_step = None
        else:
            self._remember_gradients(optimizer)
        if self._tensor_spy is not None:
            self._tensor_spy.take()  # a recording no backward pass ended belongs to no step
        trace = self.trace
        trace.steps += 1
        if trace.later_optimizer_steps:  # else forget_later_steps has nothing to forget
            forget_later_steps(trace)
        if trace.steps < self._next_sampled:  # _sample_next_step's common case, without its call
            self.sampled = False
        else:
            self._sample_next_step()
        if self._model_ref is None or self._model_ref() is None:  # self.model is None
            self._watch_tensor_step()
        elif self._steady_due():
            self._enter_steady()

    def _sample_next_step(self) -> None:
        """Whether the step now starting is sampled: the schedule is asked again only once the
        next sampled step it gave is reached (once a sample, not once a step)."""
        step = self.trace.steps
        if step < self._next_sampled:
            self.sampled = False
            return
        self.sampled = self.schedule.is_sampled(step)
        self._next_sampled = self.schedule.next_sampled(step)

    def _first_step(self, optimizer: torch.optim.Optimizer) -> None:
        self._optimizer_ref = weakref.ref(optimizer)
        # torch.optim counts the steps: no update by hand to look for
        self._fingerprint, self.update_awaited = None, False
        self._values_before = {}
        model = plain_module(self.model) if self.model is not None else None
        self.copies.optimizer_problem = ""  # steps by hand before it no longer matter
        self.copies.optimizer_class = type(optimizer)
        self.copies.optimizer_hparams = describe_optimizer(optimizer, self.trace.setup)
        if model is None:
            describe_tensors(optimized(optimizer), self.trace.setup)
            self._tensors_trained(optimized(optimizer))
            return
        self._name_parameters(model)
        describe_model(model, self.trace.setup)
        describe_untrained(model, optimizer, self.trace.setup)
        self.copies.keep_initial(model)

    @guarded
    def closure_given(self) -> None:
        """The script gave its step a closure (LBFGS needs one): replays give theirs one."""
        self.copies.step_takes_closure = True

    @guarded
    def zero_grad_called(self) -> None:
        self.trace.zero_grad_calls += 1
        self._zeroed_since_step = self._zero_grad_called = True

    def _count_zero_grad(self) -> None:
        self._zero_grad_before_step, self._zero_grad_called = self._zero_grad_called, False
        if not self._zeroed_since_step and self._gradients_replaced():
            self.trace.manual_grad_resets += 1  # `p.grad = None` by hand: as good as zero_grad
            self._zeroed_since_step = True
        if not self._zeroed_since_step:
            self.trace.steps_without_zero_grad += 1
        self._zeroed_since_step = False

    @guarded
    def note_reset_before_backward(self) -> None:
        """Before a backward pass, after a step with no reset seen since: gradients that are all
        zero or None were reset by hand. Costs nothing once zero_grad was seen, and stops at the
        first non-zero gradient in a loop that never resets (its gradients pile up)."""
        self._note_reset_before_backward()

    def _note_reset_before_backward(self) -> None:
        """note_reset_before_backward for a handler already guarded (backward_started)."""
        if self.trace.steps == 0 or self._zeroed_since_step:
            return
        if _all_zero(self._reset_candidates()):
            self.trace.manual_grad_resets += 1
            self._zeroed_since_step = True

    def _reset_candidates(self) -> list[torch.Tensor]:
        """The tensors the steps train: the optimizer's parameters, or those updated by hand;
        the first RESET_TENSORS of them stand for all (gradients are reset all together)."""
        optimizer = self._optimizer_ref() if self._optimizer_ref else None
        if optimizer is None:
            return self._trained_alive()[:RESET_TENSORS]
        tensors = []
        for group in optimizer.param_groups:
            tensors.extend(group["params"][:RESET_TENSORS - len(tensors)])
            if len(tensors) >= RESET_TENSORS:
                break
        return tensors

    def _gradients_replaced(self) -> bool:
        """Whether the gradients are new tensors since the last step: backward accumulates
        into an existing .grad in place, so a new one means it was set to None in between.
        The first parameter stands for all (gradients are reset all together): O(1) a step."""
        optimizer = self._optimizer_ref() if self._optimizer_ref else None
        if optimizer is None or self._grad_after_step is None:
            return False
        return self._grad_after_step() is not _first_gradient(optimizer)

    def _remember_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        """A weak reference only: the user's gradient tensors are never kept alive. Not taken
        after a step zero_grad() came before: a loop that calls it calls it at every step, and
        the reference (a cold read of the gradient and a new weak reference, ~10 us of an MLP's
        watched step, bench/step_overhead.py --handlers) would be compared with nothing. A
        loop that stops calling it loses one step's comparison: a gradient replaced by hand
        then, without a backward pass (which note_reset_before_backward looks at), counts as
        a step without a reset."""
        if self._zero_grad_before_step:
            self._grad_after_step = None
            return
        grad = _first_gradient(optimizer)
        self._grad_after_step = None if grad is None else weakref.ref(grad)


@torch.no_grad()
def _all_zero(tensors: list[torch.Tensor]) -> bool:
    """Whether every gradient of ``tensors`` is None or zero; the first non-zero one ends the
    reading (in a loop whose gradients pile up, the first)."""
    return bool(tensors) and not any(bool(t.grad.any()) for t in tensors if t.grad is not None)


def _first_gradient(optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
    for group in optimizer.param_groups:
        if group["params"]:
            return group["params"][0].grad
    return None
