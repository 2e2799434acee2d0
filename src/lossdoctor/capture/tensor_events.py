"""Models written as plain tensors: the trained tensors are copied before their first update,
the training steps after it are recorded (tensor_program.py) until one gives the programs of
the model and the loss, and the batches of the steps recorded join the training sample; the
model's evaluations without gradients give the validation sample. With them, the experiments
replay the run on a TensorModel, as they do a copy of an nn.Module. An evaluation that computes
the hand-written training loss on its rows (the same calls from the target, Nielsen's test
cost) records it as a validation loss, as a torch.nn loss records itself.

Recording costs a Python call per torch call, so the spy records training steps only while it
is needed: until the programs are known and both samples are complete (an epoch brings no new
row). Evaluations, whose losses (or their absence) make the validation curve, are watched to
the end when the model's entry is known."""

from __future__ import annotations

import math

import torch

from lossdoctor.capture import tensor_program
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.hand_written_events import HAND_WRITTEN
from lossdoctor.capture.loss_events import HeldLoss
from lossdoctor.capture.loss_likeness import alike_loss, named_alike
from lossdoctor.capture.loss_program import Unreplayable
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensor_program import TensorModel, TensorSpy
from lossdoctor.trace import LossRecord

#: What a user is told when a model written as plain tensors cannot be replayed, before why.
NOT_REPLAYED = ("your model is written as plain tensors, and lossdoctor could not record its "
                "computation to replay it on copies: ")


class TensorEvents:
    """Called by the step events (the first update of tensors held by no module) and the
    backward events (each training step's end)."""

    def _start_tensor_events(self) -> None:
        self._tensor_spy: TensorSpy | None = None
        self._tensor_start: list[torch.Tensor] | None = None  # the tensors before any update
        self._tensor_rows: int | None = None  # the only batch size the model program takes
        #: The chains of the hand-written training loss (tensor_program.loss_chains), which
        #: an evaluation's loss follows; empty for a torch.nn loss (its calls record it).
        self._tensor_loss_chains: frozenset = frozenset()
        self._evaluated_rows = 0  # the rows of the evaluation the spy records
        #: The optimizer steps taken when a loss program with a final scaling was kept, until
        #: the next backward pass hands it to hand_written_events._settle_scale.
        self._tensor_scaled_at: int | None = None

    def _tensors_trained(self, tensors: list[torch.Tensor]) -> None:
        """Before the first update of tensors no module holds: copy them, and record the next
        steps. Called at the first backward pass (the tensors it reached) and again at the
        first optimizer step, whose own list of tensors replaces them."""
        if self._compile_used or not tensors or self.copies.initial_model is not None:
            return
        self._stop_tensor_spy()
        self._tensor_start = [t.detach().clone().requires_grad_(t.requires_grad) for t in tensors]
        self._tensor_spy = TensorSpy(tensors)
        self._tensor_spy.start()

    @guarded
    def _tensor_step_ended(self, root: torch.Tensor | None) -> None:
        """At a backward pass: the step recorded since the last one, read."""
        if self._tensor_scaled_at is not None:  # this pass tells gradient accumulation
            self._scaled_at_step, self._tensor_scaled_at = self._tensor_scaled_at, None
        spy = self._tensor_spy
        tape = spy.take() if spy is not None else None
        if tape is None or root is None:
            return
        try:
            hand_written = self.copies.loss_fn is None  # a torch.nn loss takes what it took
            step = tensor_program.read_step(tape, root, logits=hand_written)
            self.last_batch_rows = step.rows
            if self.copies.initial_model is None:
                self._learn_tensor_model(step)
            self._keep_tensor_batch(step)
        except Exception as error:  # noqa: BLE001 - no replay; the run and the recorder go on
            if self.copies.initial_model is None:
                self.copies.model_problem = NOT_REPLAYED + _problem(error)
                self._stop_tensor_spy()
        if self.copies.initial_model is not None and self._tensor_samples_complete():
            self._leave_steps()

    def _leave_steps(self) -> None:
        """Training steps are no longer recorded; evaluations still are when the model's
        entry is known (a validation loss written by hand, or an accuracy alone)."""
        spy = self._tensor_spy
        if spy is not None and spy.entry is not None:
            spy.steps_wanted = False
        else:
            self._stop_tensor_spy()

    def _tensor_samples_complete(self) -> bool:
        spy = self._tensor_spy
        watched = spy is not None and spy.entry is not None
        return self.copies.train.complete and (self.copies.validation.complete or not watched)

    @guarded
    def _tensor_evaluated(self, inputs: torch.Tensor) -> None:
        """An evaluation of the model starts on ``inputs`` (without gradients): they are
        kept until a loss call gives their target, as a module's inputs are."""
        self._sign_inputs((inputs,))
        self.last_batch_rows = self._evaluated_rows = rows = int(inputs.shape[0])
        self._pending = None
        sample = self.copies.validation
        if self.copies.loss_fn is None:  # the recorded evaluation gives the batch
            return
        if not sample.complete and sample.wants(rows):
            self._pending = ("eval", Batch((inputs.detach().to("cpu", copy=True),), {}, None,
                                           rows))

    @guarded
    def _tensor_evaluation_ended(self, tape) -> None:
        """An evaluation with a hand-written loss: the loss it computed, and its batch, paired
        with the target the loss compared the prediction with, which joins the validation
        sample."""
        self._note_evaluation_loss(tape)
        sample = self.copies.validation
        rows = self._evaluated_rows
        if sample.complete:
            return
        trained = self.copies.train.batches[0].target if self.copies.train.batches else None
        batch = tensor_program.read_evaluation(tape, rows, trained)
        if batch is not None and sample.wants(rows):
            self._add_batch("eval", batch)

    def _note_evaluation_loss(self, tape) -> None:
        """The hand-written training loss computed on the evaluated rows: an evaluation loss
        of the batch whose signature the evaluation took."""
        rows = self._evaluated_rows
        loss = tensor_program.evaluation_loss(tape, rows, self._tensor_loss_chains)
        if loss is None:
            return
        held = HeldLoss(LossRecord(float(loss), rows, "eval", self.step, HAND_WRITTEN),
                        self.forwards)
        held.signature = self._take_signature()
        self._hold(held)

    def _pause_tensor_spy(self, paused: bool) -> None:
        """An optimizer step reads the trained tensors without gradients: not an evaluation."""
        if self._tensor_spy is not None:
            if paused:
                self._tensor_spy.end_evaluation()
            self._tensor_spy.paused = paused

    def _learn_tensor_model(self, step: tensor_program.Step) -> None:
        programs = tensor_program.split(step)
        self._quietly(tensor_program.validated, programs, step)
        rows = None
        if not self._quietly(tensor_program.any_rows, programs, step):
            self._tensor_rows = step.rows
            if self._quietly(tensor_program.rows_apart, programs, step):
                rows = step.rows
        self.copies.initial_model = TensorModel(self._tensor_start, programs.model, rows)
        spy = self._tensor_spy
        spy.entry = tensor_program.entry_of(programs.model, spy)
        spy.on_evaluation = self._tensor_evaluated
        if self.copies.loss_fn is None:  # no loss call will pair an evaluated batch
            spy.on_evaluated = self._tensor_evaluation_ended
        self.copies.model_problem = ""
        self._tensor_start = None
        # a torch.nn loss is replayed as it was called, unless a penalty on the trained tensors
        # was added to it by hand: the recorded program keeps it
        if self.copies.loss_fn is None or programs.loss.data_term is not None:
            self._keep_tensor_loss(programs.loss, step)
        if self.copies.loss_fn is None:
            self._tensor_loss_chains = tensor_program.loss_chains(step, programs)

    def _keep_tensor_loss(self, program, step: tensor_program.Step) -> None:
        self.copies.loss_replay = program
        self.copies.loss_problem = ""
        prediction = step.prediction_value
        self.copies.prediction_shape = tuple(prediction.shape[1:])
        if program.scale is not None:  # told at the next backward pass, not this one's end
            self._tensor_scaled_at = self.trace.steps
        value = float(step.trained_value.detach().float().mean())
        if not math.isfinite(value):  # the step blew up: read the untrained model instead
            value, prediction = self._quietly(self._untrained_loss, program, step)
        name = self.trace.setup.loss_name or HAND_WRITTEN
        alike = self._quietly(alike_loss, value, prediction, step.target, name)
        self.trace.setup.loss_name = named_alike(name, alike)

    def _untrained_loss(self, program, step: tensor_program.Step) -> tuple[float, torch.Tensor]:
        """The loss and prediction of the model before its first update on the step's batch:
        what the loss computes like, when the step's own values are not finite."""
        batch = step.batch()
        with torch.no_grad():
            prediction = self.copies.initial_model(*batch.args)
            return float(program.loss(self.copies.initial_model, batch).float().mean()), prediction

    def _keep_tensor_batch(self, step: tensor_program.Step) -> None:
        if self._tensor_rows is not None and step.rows != self._tensor_rows:
            return
        sample = self.copies.train
        if not sample.complete and sample.wants(step.rows):
            self._add_batch("train", step.batch())

    def _stop_tensor_spy(self) -> None:
        spy, self._tensor_spy = self._tensor_spy, None
        if spy is not None:
            spy.leave()

    def _keep_trained_tensors(self, tensors: list[torch.Tensor]) -> None:
        """At the end: the tensors as training left them, in a copy of the model."""
        initial = self.copies.initial_model
        if isinstance(initial, TensorModel) and self.copies.final_model is None and tensors:
            self.copies.final_model = TensorModel(tensors, initial.program, initial.rows)


def _problem(error: Exception) -> str:
    if isinstance(error, Unreplayable):
        return str(error)
    return f"lossdoctor failed to record it ({type(error).__name__}: {error})"
