"""Turns what PyTorch's hooks report into a Trace (numbers) and Copies (for experiments).

The Recorder is the one object the hook layer talks to. Its events come in families, one file
each, with the state that family keeps: module_events (model calls), activation_events
(activations inside them), loss_events (losses and logged values), backward_events (the tensor
backward is called on), hand_written_events (hand-written losses outside training),
step_events (optimizer steps, zero_grad), update_events (parameter updates made without
torch.optim), gradient_events (gradients on sampled steps), data_events (batches and
data-loader passes), reported_events (validation losses the script reports itself) and
dropout_events (forward passes in which dropout ran);
model_setup describes the model and optimizer at the first step; steady_steps takes the
ordinary steps once the run's setup is known. What
the families share (the trace, the copies, the model, the step, whether it is sampled) is set
up here. Every event handler is guarded (guard.py): an error inside lossdoctor is recorded
and switches the recorder off; it never reaches the user's training.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch
from torch import nn

from lossdoctor.capture.activation_events import ActivationEvents
from lossdoctor.capture.backward_events import BackwardEvents
from lossdoctor.capture.clipping import GradientClip
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.data_events import DataEvents
from lossdoctor.capture.dropout_events import DropoutEvents
from lossdoctor.capture.gradient_events import GradientEvents
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.hand_written_events import HandWrittenEvents
from lossdoctor.capture.loss_events import LossEvents
from lossdoctor.capture.model_copy import kept_copy
from lossdoctor.capture.model_setup import optimized
from lossdoctor.capture.module_events import ModuleEvents
from lossdoctor.capture.reported_events import ReportedEvents
from lossdoctor.capture.restored_weights import RestoredWeights
from lossdoctor.capture.sample import BatchSample
from lossdoctor.capture.schedule import Schedule
from lossdoctor.capture.steady_steps import SteadySteps
from lossdoctor.capture.step_events import StepEvents
from lossdoctor.capture.tensor_events import TensorEvents
from lossdoctor.capture.tracing import plain_module
from lossdoctor.capture.unbackpropagated import file_unbackpropagated_losses
from lossdoctor.capture.update_events import UpdateEvents
from lossdoctor.trace import Trace


class Recorder(ModuleEvents, ActivationEvents, LossEvents, BackwardEvents, HandWrittenEvents,
               StepEvents, UpdateEvents, GradientEvents, DataEvents, ReportedEvents,
               TensorEvents, RestoredWeights, SteadySteps, DropoutEvents):
    """Receives training events; knows nothing about how they were hooked. ``listener``, if
    given, is called with the recorder before every optimizer step, or only before the first
    and those after new events if its ``told_every_step`` is False (see on_step)."""

    def __init__(self, sample_rows: int = 4096, schedule: Schedule | None = None,
                 listener: Callable[[Recorder], None] | None = None) -> None:
        self.trace = Trace()
        self.copies = Copies(train=BatchSample(sample_rows), validation=BatchSample(sample_rows))
        self.schedule = schedule or Schedule()
        self.sampled = self.schedule.is_sampled(0)  # whether this step gets the costly stats
        self.broken = False
        self.internal_errors: list[str] = []
        #: Told before optimizer steps (on_step), a safe point to stop the run.
        self.listener = listener
        self._listener_told_every_step = getattr(listener, "told_every_step", True)
        self.last_train_loss: float | None = None
        self.events_since_step = False  # a validation loss or a new data-loader pass was seen
        self.validated_since_step = False  # a validation loss was seen
        self._model_ref: weakref.ref | None = None
        self._optimizer_ref: weakref.ref | None = None
        self._start_module_events()
        self._start_restored_weights()
        self._start_activation_events()
        self._start_loss_events()
        self._start_backward_events()
        self._start_hand_written_events()
        self._start_step_events()
        self._start_update_events()
        self._start_gradient_events()
        self._start_data_events()
        self._start_tensor_events()
        self._start_steady_steps()
        self._start_dropout_events()

    @property
    def model(self) -> nn.Module | None:
        """The model being trained, while the user's code still holds it."""
        return self._model_ref() if self._model_ref else None

    @property
    def step(self) -> int:
        return self.trace.steps

    def finish(self) -> tuple[Trace, Copies]:
        """Close the books: the last update and held losses, epochs, batch size, and a copy of
        the trained model if reachable."""
        self.listener = None  # the run is over: nothing left to stop
        self.leave_spies()
        self.copies.threads = torch.get_num_threads()  # what the script left, for experiments
        try:
            self.check_parameter_update()
            self.settle_losses()
            self._read_losses()  # even when the recorder broke: what it held is sound
            file_unbackpropagated_losses(self.trace)
            self._settle_data()
            self.copies.settle_targets()
            self.keep_trained_model()
        except Exception as error:  # noqa: BLE001 - a partial trace beats none
            self.internal_errors.append(f"finish: {type(error).__name__}: {error}")
        self.trace.notes.extend(f"lossdoctor internal error: {e}" for e in self.internal_errors)
        return self.trace, self.copies

    def leave_spies(self) -> None:
        """Take lossdoctor's torch function modes off the stack and its profile function off
        the thread, whatever broke before: a spy left on would go on watching the user's code
        after the run. The tensor spy's last evaluation joins the sample before the losses
        settle."""
        self._leave_steady()
        for leave in (self._stop_step_spy, self._stop_tensor_spy, self._stop_following,
                      self.leave_direct_pass):
            try:
                leave()
            except Exception as error:  # noqa: BLE001 - the other spy must still leave
                self.internal_errors.append(f"finish: {type(error).__name__}: {error}")

    @guarded
    def gradients_clipped(self, clip: GradientClip) -> None:
        """The script clipped gradients: replays clip them the same way."""
        self.copies.gradient_clip = clip

    @guarded
    def clip_without_gradients(self, clip: GradientClip) -> None:
        """The script called a clip where no gradient existed (before backward): it clipped
        nothing, and replays do not clip; exploding_gradients replays it where it belongs."""
        self.copies.unapplied_clip = clip

    @guarded
    def keep_trained_model(self) -> None:
        """Copy the model as training left it, then let go of it: lossdoctor holds the model
        until this copy (a model local to the script's main() is gone when the script ends)."""
        model = self.model
        kept = self.copies.final_model is not None
        if model is not None and self.copies.initial_model is not None and not kept:
            before_restore = self._trained_before_restore()
            self.copies.final_model = (kept_copy(plain_module(model)) if before_restore is None
                                       else before_restore)
        elif model is None:
            optimizer = self._optimizer_ref() if self._optimizer_ref else None
            self._keep_trained_tensors(optimized(optimizer) if optimizer is not None
                                       else self._trained_alive())
        self._model_held = None
