"""Ordinary steps of a run whose setup is known: one bound function per hook point.

Once the first steps have shown what the run is (its optimizer, its model, its loss copied for
the replays, nothing being learnt), an ordinary (not sampled) step needs little of the full
handlers: the loss value and its rows, the model's output and inputs, the step and zero_grad
counts. After such a step (step_finished), the recorder enters the steady state: the hook
points (zero_grad, a torch loss function, backward, the optimizer's two hooks) call the
functions here instead of the guarded handlers, and the module wrapper (hooks.py) asks
``steady_forward_started`` first. Each does what the full handler does on that event, without
the guard's frame and without the checks of what cannot happen then (a spy, a pending replay
decision, summed terms). An event that is not the ordinary one (an evaluation, a loss inside
the model, a backward from another tensor, a second optimizer) leaves the steady state for the
rest of the step and goes to the full handler, which finds the state as it would have left it
itself. A loss call beside the training loss (a metric, with gradients or without) and one whose
batch waits for its target (the data sample being filled) stay: the first is held as the
training loss is, the others go to the full path's own _loss_computed, and the steady backward
and step find the trained loss among those held. A sampled step runs the full handlers
throughout.

An error here is recorded and switches the recorder off, as the guard does (guard.py); torch
calls made here are counted as lossdoctor's own (loss_chains.OWN_CALLS), as the guard counts
them.
"""

from __future__ import annotations

import math
import weakref

import torch
from torch.nn.modules.loss import _Loss

from lossdoctor.capture.later_optimizers import forget_later_steps
from lossdoctor.capture.loss_chains import OWN_CALLS, WAITING
from lossdoctor.capture.loss_events import MAX_HELD, HeldLoss, read_later
from lossdoctor.capture.module_events import _rows
from lossdoctor.capture.per_row import reduction_of
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.lr_schedule import training_group_lr
from lossdoctor.trace import LossRecord

#: Whether ordinary steps take the steady path; tests turn it off to compare the traces.
STEADY = True
#: The hook points' handlers the steady state replaces, by their steady names.
STEADY_HANDLERS = {
    "zero_grad_called": "steady_zero_grad",
    "loss_computed": "steady_loss_computed",
    "backward_started": "steady_backward_started",
    "backward_finished": "steady_backward_finished",
    "step_started": "steady_step_started",
    "step_finished": "steady_step_finished",
}


class SteadySteps:
    """The steady state's functions; the recorder's other families keep their state."""

    def _start_steady_steps(self) -> None:
        self._steady = False

    def _steady_due(self) -> bool:
        """After a step: whether the next one is ordinary and nothing of the run is still
        being learnt or followed (each of these sends an event to the full handlers)."""
        copies = self.copies
        return (STEADY and not self.sampled and not self.broken and not self._held
                and copies.loss_fn is not None and not self._summed_terms
                and not self._follow_calls and self._scale_noted
                and self._spy is None and self._tensor_spy is None and self._step_spy is None
                and self._chain_spy is None and not WAITING and self._direct is None
                and self._built is None and self._found_call is None
                and not (self._learning_chain and self._loss_chain is None)
                and not self._shape_only_calls
                and self._optimizer_ref is not None and self.model is not None)

    def _enter_steady(self) -> None:
        self._steady = True
        for full, steady in STEADY_HANDLERS.items():
            setattr(self, full, getattr(self, steady))

    def _leave_steady(self) -> None:
        """The full handlers again, for the rest of this step at least."""
        if self._steady:
            self._steady = False
            for full in STEADY_HANDLERS:
                self.__dict__.pop(full, None)

    def _steady_failed(self, where: str, error: Exception) -> None:
        self._leave_steady()
        self.broken = True
        self.internal_errors.append(f"{where}: {type(error).__name__}: {error}")

    def steady_zero_grad(self) -> None:
        self.trace.zero_grad_calls += 1
        self._zeroed_since_step = self._zero_grad_called = True

    def steady_forward_started(self, module, args) -> bool:
        """The model's training call at the top, or a loss module's call: True when taken
        here (the wrapper then calls steady_forward_finished), False for the full handlers."""
        try:
            first = args[0] if args else None
            if not isinstance(first, torch.Tensor) or first.is_meta:
                self._leave_steady()
                return False
            if isinstance(module, _Loss):
                self._inside_loss += 1
                return True
            model_ref = self._model_ref
            if (self._depth or self.broken or model_ref is None or model_ref() is not module
                    or self.update_awaited or self._chain_spy is not None or WAITING
                    or self._direct is not None or not torch.is_grad_enabled()):
                self._leave_steady()
                return False
            self._depth = 1
            self.forwards += 1
            self.inside_model = True
            self._inner_target = None
            self._model_held = module
            self._sign_inputs(args, "train")
            return True
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_forward_started", error)
            return False

    def steady_forward_finished(self, module, args, kwargs, output) -> None:
        """The end of a call steady_forward_started took."""
        try:
            if isinstance(module, _Loss):
                self._inside_loss -= 1
                if output is not None and len(args) >= 2:
                    self.steady_loss_computed(type(module).__name__, module, args[0], args[1],
                                              output, None)
                return
            self._depth = 0
            self.copy_called = None
            self.inside_model = False
            shape = args[0].shape
            self.last_batch_rows = shape[0] if shape else _rows(args, kwargs)
            self._model_output_seen(module, args, kwargs, output)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_forward_finished", error)

    def steady_loss_computed(self, name: str, loss_fn, prediction, target, output,
                             kwargs=None) -> None:
        """A training loss of one value, outside the model, scored on its latest output, with
        no batch waiting for its target: held until the step, as _loss_computed holds it then
        (on an accelerator its value is read later, with others: no wait for the device). A
        metric beside it (another loss call, with gradients or without) is held as well, and
        a batch waiting for its target is paired with it."""
        try:
            if kwargs is None:
                reduction = getattr(loss_fn, "reduction", "mean")
            else:
                reduction = reduction_of(loss_fn, kwargs)
            if (not isinstance(prediction, torch.Tensor) or not isinstance(output, torch.Tensor)
                    or reduction == "sum" or output.numel() != 1 or self.inside_model
                    or self.copy_called is not None):
                self._leave_steady()
                type(self).loss_computed(self, name, loss_fn, prediction, target, output, kwargs)
                return
            if not output.requires_grad or self._pending is not None:
                self._loss_computed_in_place(name, loss_fn, prediction, target, output, kwargs)
                return
            unread = read_later(output)  # on an accelerator, read with others later
            shape = prediction.shape
            model = self._model_ref()
            record = LossRecord(output.item() if unread is None else math.nan,
                                shape[0] if shape else 0, "train", self.trace.steps, name,
                                model.training if model is not None else None, 1, False, False)
            held = HeldLoss(record, self.forwards, True, unread=unread)
            held.rescores = self._rescores(held)
            if isinstance(target, torch.Tensor):
                held.several_calls = (target.is_floating_point()
                                      and self._compares_calls(prediction, target))
            else:
                held.several_calls = self._compares_calls(prediction, first_tensor(target))
            held.output = weakref.ref(output)
            self._held.append(held)
            if len(self._held) > MAX_HELD:
                self._leave_steady()
                self._settle_past_limit()
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_loss_computed", error)

    def _loss_computed_in_place(self, name: str, loss_fn, prediction, target, output,
                                kwargs) -> None:
        """A loss call without gradients beside the training loss (a metric on a detached
        output, or under no_grad), or one whose batch waits for its target (the data sample
        is being filled): the full path's own handling, inside the steady state (its backward
        and step find the training loss among the losses held, its batch paired)."""
        OWN_CALLS[0] += 1  # as the guard counts: its torch calls are not the script's
        try:
            self._loss_computed(name, loss_fn, prediction, target, output, kwargs)
        finally:
            OWN_CALLS[0] -= 1

    def steady_backward_started(self, tensors) -> None:
        """Backward from a loss held (beside it, metrics the step will not train on): it
        trained."""
        try:
            held = self._held
            if len(held) == 1:  # the common case spelled out: one call less a step
                trained = held[0]
                if trained.reached or trained.output is None or trained.output() is not tensors:
                    trained = None
                waiting = [trained]
            else:
                waiting = _waiting_for_backward(held)
                trained = _held_for(waiting, tensors)
            if trained is None or self.update_awaited or self._chain_spy is not None:
                self._leave_steady()
                type(self).backward_started(self, tensors)
                return
            if self.trace.steps and not self._zeroed_since_step:
                self._note_reset_before_backward()
            self._root_chain = None
            self._waiting = waiting
            trained.reached = True
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_backward_started", error)

    def steady_backward_finished(self, tensors) -> None:
        """A backward pass through the loss held: nothing is left to learn from it."""
        try:
            waiting = self._waiting
            reached = waiting[0].reached if len(waiting) == 1 else _any_reached(waiting)
            if (not reached or self.copies.loss_fn is None
                    or self._built is not None or self._found_call is not None
                    or (self._learning_chain and self._loss_chain is None)):
                self._leave_steady()
                type(self).backward_finished(self, tensors)
                return
            self._waiting = []
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_backward_finished", error)

    def steady_step_started(self, optimizer) -> None:
        """The loss held settles as the step's training loss; the step is counted, its rate
        followed."""
        try:
            held = self._held
            ref = self._optimizer_ref
            single = len(held) == 1
            trained = held[0].reached and not held[0].logged if single else _trained_unlogged(held)
            if (self.broken or ref is None or ref() is not optimizer or self._chain_spy is not None
                    or WAITING or not trained):
                self._leave_steady()
                type(self).step_started(self, optimizer)
                return
            if single:
                self._held = []
                self._commit(held[0], "train")
            else:  # the training loss and metrics beside it: settled as the full path does
                self._settle_losses()
            if self.listener is not None and (self.events_since_step or self.trace.steps == 0
                                              or self._listener_told_every_step):
                self.on_step()
            self._count_zero_grad()
            groups = optimizer.param_groups
            lr = groups[0].get("lr") if groups else None
            if type(lr) is not float or lr <= 0:
                lr = training_group_lr(groups)
            if not isinstance(lr, torch.Tensor):  # a tensor's value costs a sync
                lr, setup = float(lr), self.trace.setup
                if lr != setup.lr_last or setup.lr_first is None:
                    self._note_first_cut(optimizer, lr)
                    setup.follow_lr(self.trace.steps, lr)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_step_started", error)

    def steady_step_finished(self, optimizer) -> None:
        """The step is counted; a sampled step next leaves the steady state."""
        try:
            ref = self._optimizer_ref
            if ref is None or ref() is not optimizer or self._before_update:
                self._leave_steady()
                type(self).step_finished(self, optimizer)
                return
            if self._zero_grad_before_step:
                self._grad_after_step = None
            else:
                self._remember_gradients(optimizer)
            trace = self.trace
            trace.steps += 1
            if trace.later_optimizer_steps:
                self._leave_steady()
                forget_later_steps(trace)
            if trace.steps < self._next_sampled:
                self.sampled = False
            else:
                self._sample_next_step()
            if self.sampled or self._model_ref() is None:
                self._leave_steady()
            if self._model_ref() is None:
                self._watch_tensor_step()
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self._steady_failed("steady_step_finished", error)


def _waiting_for_backward(held: list) -> list:
    """The held losses a backward pass may go through (backward_started's own list)."""
    return [h for h in held if h.tentative and not h.reached and h.output]


def _held_for(waiting: list, tensors):
    """The held loss backward was called on, if it is one of ``waiting`` and not yet reached."""
    if not isinstance(tensors, torch.Tensor):
        return None
    for held in waiting:
        if not held.reached and held.output is not None and held.output() is tensors:
            return held
    return None


def _any_reached(held: list) -> bool:
    return any(entry.reached for entry in held)


def _trained_unlogged(held: list) -> bool:
    """A backward pass went through one of the losses held, and none is a value logged by
    hand (the full handler settles those)."""
    reached = False
    for entry in held:
        if entry.logged:
            return False
        reached = reached or entry.reached
    return reached
