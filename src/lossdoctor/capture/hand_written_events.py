"""Hand-written losses outside training (``torch.mean((out - y) ** 2)`` under no_grad): no loss
function is called, so no wrapper sees them. The first training step shows what the script's
loss looks like: the chain of torch functions (loss_chains.py) from the model's output to the
tensor backward was called on. From then on, after each forward pass of the model, a scalar
reached from its output through the same chain is that loss, computed on other data.

The chains are followed only while they may be needed: until a backward pass goes through a
torch.nn loss (those are seen directly), never for compiled code, and never once the chain of
the training loss is unknown (a loss not computed from the model's output).

The first training step also says how a replay computes the loss (loss_replay.py): the loss the
model returned, taken from the same place in its output; or the calls that computed the
hand-written loss, recorded as a program (loss_program.py). Each loss found this way brings the
batch it was computed on, paired with its target, to the experiments' sample.
"""

from __future__ import annotations

import math
import weakref

import torch

from lossdoctor.capture import loss_program, loss_terms, row_selection, row_values
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.loss_callable import (
    CallWatcher,
    FoundCall,
    LossArguments,
    found_loss_call,
)
from lossdoctor.capture.loss_chains import Chain, LossChainSpy, take_off_done_spies, unscaled
from lossdoctor.capture.loss_events import HeldLoss, read_later
from lossdoctor.capture.loss_likeness import alike_loss, named_alike
from lossdoctor.capture.loss_tape import Tape
from lossdoctor.capture.model_setup import plain
from lossdoctor.capture.penalized_returned_loss import PenalizedReturnedLoss
from lossdoctor.capture.replay_losses import (
    ReturnedLoss,
    has_input,
    input_at,
    input_tensors,
    output_tensors,
    path_of_data,
    place_of,
    settings_of,
    target_place,
    target_taken_out,
    tensor_places,
)
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.capture.tracing import is_compiled
from lossdoctor.trace import LossRecord

#: The loss name shown for a training loss that no torch.nn loss computed.
HAND_WRITTEN = "hand-written loss"
#: ... and for one the model's forward returned (``model(**batch).loss``).
RETURNED_BY_MODEL = "loss returned by the model"


class HandWrittenEvents:
    """Called by the module events (forward passes) and the backward events."""

    def _start_hand_written_events(self) -> None:
        self._chain_spy: LossChainSpy | None = None
        self._loss_chain: Chain | None = None  # the training loss's chain, once learnt
        self._data_chain: Chain | None = None  # its chain before a penalty on the parameters
        self._data_value: float | None = None  # ... and its value at the first training step
        #: Whether forward passes are followed at all: while the chain is learnt, and after it
        #: while the validation sample still wants batches (a masked target, _paired_batch).
        self._chains_wanted = True
        self._learning_chain = True  # the training loss's chain may still be learnt
        self._root_chain: Chain | None = None  # the chain of the tensor backward was called on
        self._compile_used = False
        self._step_inputs: loss_program.StepInputs | None = None  # of the followed forward pass
        self._built: loss_program.Built | str | None = None  # the program, or why there is none
        self._inner_target = None  # the target of a torch.nn loss inside the model's forward
        self._returned_place = None  # where the model's output held the loss it returned
        self._returned_target = None  # where the model's inputs held that loss's target
        #: Where the model's inputs held the target of the torch.nn loss inside its forward, at
        #: the first training step (for a loss the model returns in a place not named "loss").
        self._inner_input = None
        self._returned_tensors: list = []  # weak: its prediction and target, the first time
        self._inner_terms: list[loss_terms.InnerTerm] = []  # torch.nn losses inside the forward
        self._dominant_term: int | None = None  # the place of the largest among them
        self._returned_prediction = None  # where the output held that term's prediction
        self._term_summaries: list[dict] = []  # the terms, at the training pass learnt from
        self._call_watcher: CallWatcher | None = None  # the script's calls (loss_callable.py)
        self._watched: tuple | None = None  # (output, model) whose loss call is looked for
        self._found_call: FoundCall | None = None  # the first training step's loss function
        self._loss_call = None  # ... once kept for replays: its calls give the kept batches
        #: The optimizer steps taken when a program with a final scaling by a number was kept
        #: (loss_program.Scale), until the next backward pass says whether it was gradient
        #: accumulation's; None when nothing is left to tell.
        self._scaled_at_step: int | None = None
        #: The loss found through the chain in the latest forward pass followed: a later
        #: scalar of that pass through the same chain is it, grown (_grown).
        self._chain_held: HeldLoss | None = None

    def compile_used(self) -> None:
        """The script compiled something: a TorchFunctionMode around compiled code could make
        the compiler trace lossdoctor, so no chain is followed from now on."""
        self._compile_used = True
        self._stop_following()
        self._stop_tensor_spy()

    def _follow_output(self, module, output, args, kwargs) -> None:
        """After a forward pass of the model: follow what is computed from its output."""
        if not self._chains_wanted or self._compile_used or is_compiled(module):
            return
        if not self._learning_chain and not self._kept_for_validation() and not (
                self._kept_read_on_tape()):
            self._chains_wanted = not self.copies.validation.complete or (
                self._replay_reads_tape() and not self.copies.train.complete)
            if self._chain_spy is not None:  # a kept validation batch's, done with
                self._stop_following(calls=False)
            return
        self._stop_following(calls=not self._waiting_for_loss_call())
        spy = self._chain_spy = LossChainSpy(self._scalar_computed)
        if self._tape_wanted():
            self._step_inputs = loss_program.StepInputs(args, kwargs, self.last_batch_rows,
                                                        input_tensors(args, kwargs))
            parameters = {id(p): (name, p) for name, p in module.named_parameters()}
            spy.tape = Tape(output, parameters)
            for place, tensor in tensor_places(output):
                spy.tape.note_output(place, tensor)
            self._watch_calls(output, module)
        spy.follow(output, self.last_batch_rows)

    def _watch_calls(self, output, module) -> None:
        """Until the training replay is decided, at a pass with gradients: note the script's
        own calls, one of which may compute the loss (loss_callable.py)."""
        if self._replay_undecided() and torch.is_grad_enabled():
            watcher = CallWatcher()
            if watcher.start():
                self._call_watcher, self._watched = watcher, (output, module)

    def _stop_watching_calls(self) -> CallWatcher | None:
        watcher, self._call_watcher = self._call_watcher, None
        self._watched = None  # the script's output is not held past its pass
        if watcher is not None:
            watcher.stop()
        return watcher

    def _watch_loss_call(self, output) -> None:
        """A batch the sample keeps, its loss computed by the script's function: that
        function's next call gives the batch its kept arguments (the targets)."""
        self._stop_watching_calls()
        pending, call, replay = self._pending, self._loss_call, self.copies.loss_replay
        model = self.scored_model()[0]  # the model, or a copy of it (an EMA) it evaluates
        training = model.training if model is not None else True

        def on_call(args, kwargs):
            if self._pending is pending and pending is not None:
                pending[1].target = call.kept_of(args, kwargs, pending[1].rows)
                replay.learn_places(training, call.output_places(args, kwargs, output))
                # kept now: a loss of tensor arithmetic alone pairs no batch later (only the
                # first step's was kept, and no replay had the batches it needs)
                self._pending = None
                self._add_batch(*pending)

        watcher = CallWatcher(call.code, on_call)
        if watcher.start():
            self._call_watcher = watcher

    def _paired_batch(self, phase: str, target):
        """The kept batch paired with ``target``, or, for a target selected by a mask
        (``y[word_mask]`` in validation, where training scored every position of
        ``out.reshape(-1, C)``), with the per-row ``y`` whose left-out positions the replayed
        classification loss ignores: a replay computes the training loss as training did, on
        every position, and counts the selected ones. A masked target that loss cannot ignore
        pairs no batch."""
        if self._replay_selects_rows():
            return self._selected_batch(phase, target)
        target = self._program_target(target)
        selected = self._masked_selection(target) if phase == "eval" else None
        if selected is None:
            return super()._paired_batch(phase, target)
        ignore_index = loss_program.ignore_index_of(self.copies.replay_loss)
        source, mask = selected
        if ignore_index is None or source.is_floating_point():
            self._pending = None  # no later call of this pass pairs it with another target
            return None
        return super()._paired_batch(phase, loss_program.unselected_ignored(source, mask,
                                                                            ignore_index))

    def _program_target(self, target):
        """For a program that reads per-row numbers: the batch's tensor the loss call's target
        was computed from with them (``pack_padded_sequence(tags, lengths).data``), which is
        what the program reads; else the loss call's target."""
        replay, spy, inputs = self.copies.loss_replay, self._chain_spy, self._step_inputs
        if not (isinstance(replay, loss_program.LossProgram) and replay.row_values_read
                and spy is not None and spy.tape is not None and inputs is not None
                and isinstance(target, torch.Tensor)):
            return target
        computed = target if spy.tape.ref(target) is not None or target._base is None else (
            target._base)  # a view taken after (loss_events' per-row reshape)
        source = loss_program.target_of(spy.tape, computed, inputs)
        return target if source is None else loss_program.target_row_copy(source, inputs.rows)

    def _row_values_now(self, rows: int) -> dict:
        """The lists of per-row numbers this pass's loss calls were given, from its tape; at
        the backward pass of the step the program was recorded at, the program's."""
        spy = self._chain_spy
        if spy is not None and spy.tape is not None:
            return row_values.in_tape(spy.tape.calls, rows)
        built = self._built
        return built.row_values if isinstance(built, loss_program.Built) else {}

    def _kept_read_on_tape(self) -> bool:
        """A training batch the sample keeps, its loss on a selection of its rows (the tape
        shows which: _selected_batch) or given per-row numbers (the tape shows them:
        row_values.py)."""
        return (self._pending is not None and self._pending[0] == "train"
                and self._replay_reads_tape())

    def _replay_reads_tape(self) -> bool:
        replay = self.copies.loss_replay
        return isinstance(replay, loss_program.LossProgram) and (
            replay.selects_rows or bool(replay.row_values_read))

    def _replay_selects_rows(self) -> bool:
        replay = self.copies.loss_replay
        return isinstance(replay, loss_program.LossProgram) and replay.selects_rows

    def _selected_batch(self, phase: str, target):
        """The kept batch of a loss on a selection of its rows (``y[val_mask]``: a graph's
        validation): paired with the target of every row and the rows selected
        (row_selection.py). A target selected otherwise pairs no batch."""
        spy, pending = self._chain_spy, self._pending
        tape = spy.tape if spy is not None else None
        found = None
        if tape is not None and pending is not None and isinstance(target, torch.Tensor):
            found = row_selection.selected_source(tape, target, pending[1].rows)
        return self._selected_pair(phase, found)

    def _selected_pair(self, phase: str, found: tuple | None):
        """The kept batch paired with ``found``: (every row's target, the selection)."""
        if found is None:
            self._pending = None  # no later call of this pass pairs it otherwise
            return None
        target, selection = found
        batch = super()._paired_batch(phase, loss_program.target_row_copy(target,
                                                                          target.shape[0]))
        if batch is not None:
            batch.selection = row_selection.selection_copy(selection)
        return batch

    def _select_rows_of_batches(self, built: loss_program.Built) -> None:
        """The batches of the step the program was recorded at, paired with their loss's
        selected target (``y[train_mask]``) before the program said it selects rows: paired
        again with the target of every row and the training selection."""
        rows = built.target.shape[0]
        for held in self._held:
            if held.forward == self.forwards and held.batch is not None:
                held.batch.target = loss_program.target_row_copy(built.target, rows)
                held.batch.selection = row_selection.selection_copy(built.selection)

    def _pair_held_batches(self, target: torch.Tensor) -> None:
        """The batches of the step the program was recorded at, paired with its target."""
        for held in self._held:
            if held.forward == self.forwards and held.batch is not None:
                held.batch.target = loss_program.target_row_copy(target, target.shape[0])

    def _masked_selection(self, target):
        spy, pending = self._chain_spy, self._pending
        tape = spy.tape if spy is not None else None
        if tape is None or pending is None or not isinstance(target, torch.Tensor):
            return None
        return loss_program.masked_selection(tape, target, pending[1].rows)

    def _tape_wanted(self) -> bool:
        """Record the calls (a cost on every torch call) until the program is learnt, and
        then only for a batch the sample keeps: its target is found on the tape."""
        if self._replay_undecided() or self._kept_for_validation():
            return True
        return self._pending is not None and isinstance(self.copies.loss_replay,
                                                        loss_program.LossProgram)

    def _kept_for_validation(self) -> bool:
        """A validation batch the sample keeps, once the training replay is decided: its
        target may be selected by a mask (_paired_batch), which the tape shows."""
        return (self._pending is not None and self._pending[0] == "eval"
                and not self._replay_undecided())

    def _model_returned_loss(self, output, args, kwargs) -> None:
        """After a forward pass of a model that returns its loss: where the loss is in the
        output, where its target was among the inputs (learnt from a pass with gradients);
        the batch kept of this pass gets that target. A loss the forward adds up from several
        torch.nn losses is replayed as its largest term (capture/loss_terms.py)."""
        inner, self._inner_target = self._inner_target, None
        loss = self._returned_loss() if self._returned_loss is not None else None
        if loss is not None:
            term = self._largest_term(loss)
            inner = term.target if term is not None else inner
            self._returned_place = place_of(output, loss)
            self._returned_target = target_place(args, kwargs, inner)
            self._returned_prediction = (place_of(output, term.prediction())
                                         if term is not None and term.prediction() is not None
                                         else None)
            self._note_returned_tensors(output, loss, args, kwargs)
        self._inner_terms = []
        path = self._returned_target
        if self._pending is None or path is None or not has_input(args, kwargs, path):
            return
        phase = self._pending[0]
        batch = target_taken_out(self._pending[1], path)
        self._pending = (phase, batch)
        inside = [h for h in self._held if h.forward == self.forwards and h.inside_model]
        if inside and inside[-1].batch is None:
            inside[-1].batch, self._pending = batch, None
        elif inner is not None and phase == "eval":  # its loss, without gradients, is counted
            self._add_batch(phase, batch)
            self._pending = None

    def _note_inner_term(self, held, prediction, target, output) -> None:
        """A torch.nn loss computed inside the model's forward with gradients: a term of the
        loss the model returns."""
        terms = [t for t in self._inner_terms if t.forward == self.forwards]
        terms.append(loss_terms.InnerTerm(held, self.forwards, weakref.ref(output),
                                          weakref.ref(prediction), first_tensor(target)))
        self._inner_terms = terms

    def _largest_term(self, loss: torch.Tensor) -> loss_terms.InnerTerm | None:
        """The term of this pass the run's loss is taken to be: the largest, judged while the
        replay is undecided and then kept by its place among the terms. Every term but it
        gives up its loss copy (the run's loss function is the largest term's)."""
        terms = [t for t in self._inner_terms if t.forward == self.forwards]
        if self._replay_undecided():
            largest = loss_terms.dominant(terms)
            self._dominant_term = terms.index(largest) if largest is not None else None
            self._term_summaries = loss_terms.summaries(terms, loss) if largest else []
            for term in terms:
                if term is not largest and largest is not None:
                    term.held.loss_copy = None
            return largest
        index = self._dominant_term
        return terms[index] if index is not None and index < len(terms) else None

    def _note_returned_tensors(self, output, loss, args, kwargs) -> None:
        """Weakly, the first time: the prediction and target beside the returned loss."""
        if self._returned_target is None or self._returned_tensors:
            return
        prediction = next((t for t in output_tensors(output) if t is not loss), None)
        target = input_at(args, kwargs, self._returned_target)
        if prediction is not None:
            self._returned_tensors = [weakref.ref(prediction), weakref.ref(target)]

    def _waiting_for_loss_call(self) -> bool:
        """A watcher set by _watch_loss_call for this pass's batch (it stops at that call, or
        at backward): following the output must not stop it."""
        return self._call_watcher is not None and self._call_watcher.wanted is not None

    def _stop_following(self, calls: bool = True) -> None:
        if calls and self._call_watcher is not None:
            self._stop_watching_calls()
        spy, self._chain_spy = self._chain_spy, None
        self._step_inputs = None
        if spy is not None:
            spy.leave()
        else:
            take_off_done_spies()  # one left inside a torch function, as backward runs

    def _note_root_chain(self, root: torch.Tensor | None) -> None:
        """At the start of a backward pass: the chain that led to the tensor it starts from,
        and (at the first training step) the program that computed it."""
        spy, inputs = self._chain_spy, self._step_inputs
        self._root_chain = spy.chain_of(root) if spy is not None and root is not None else None
        tape = spy.tape if spy is not None else None
        watcher, watched = self._call_watcher, self._watched
        if spy is not None or self._waiting_for_loss_call():
            self._stop_following()
        if tape is not None and root is not None and self._replay_undecided():
            self._built = self._build_program(tape, root, inputs)
            self._inner_input = self._inner_target_input(inputs)
            if watcher is not None:
                self._found_call = self._quietly(_found_call, watcher, watched, tape, root)
            term = loss_program.data_term(tape, root, lambda t: spy.chain_of(t) is not None)
            self._data_chain = spy.chain_of(term) if term is not None else None
            self._data_value = _value(term) if term is not None else None

    def _replay_undecided(self) -> bool:
        copies = self.copies
        return copies.loss_replay is None and not copies.loss_problem and copies.loss_fn is None

    def _build_program(self, tape, root, inputs) -> loss_program.Built | str:
        """The program that computed ``root``, checked against its value; or what prevents
        it, in words."""
        try:
            built = loss_program.build(tape, root, inputs)
            self._quietly(loss_program.validated, built, tape, inputs)
        except loss_program.Unreplayable as problem:
            return str(problem)
        except Exception as error:  # noqa: BLE001 - an error of ours: no replay, the run goes on
            return f"lossdoctor failed to record it ({type(error).__name__}: {error})"
        return built

    def _decide_replay(self, seen_loss: bool, name: str | None) -> None:
        """After the first training backward pass: how a replay computes this loss."""
        if self._scaled_at_step is not None:
            self._settle_scale()
        built, self._built = self._built, None
        try:
            self._decide_replay_from(built, seen_loss, name)
        finally:
            self._found_call = None  # the script's output is not held past this step

    def _decide_replay_from(self, built, seen_loss: bool, name: str | None) -> None:
        if not self._replay_undecided():
            return
        if name == RETURNED_BY_MODEL or (seen_loss and self._trained_inside_model()):
            self._keep_returned_loss(name, self._place_returned_loss(built))
            self._add_penalty(built)
        elif isinstance(built, loss_program.Built) and self._called_loss_wanted(built):
            self._keep_called_loss(seen_loss)
        elif isinstance(built, loss_program.Built):
            transformed = self._torch_loss_on_transform() if seen_loss else None
            if transformed is not None:
                self._keep_program(built, transformed)
            elif not (seen_loss and built.program.ends_in_torch_loss):
                self._keep_program(built, name or HAND_WRITTEN)
        elif self._found_call is not None and not self._trained_on_whole_output():
            self._keep_called_loss(seen_loss)
        elif seen_loss and built and self._torch_loss_on_transform() is not None:
            self.copies.loss_problem = (
                "your training loss is given something computed from the model's output, in "
                f"code lossdoctor could not replay: {built}")
        elif not seen_loss:
            self.copies.loss_problem = (
                "the training loss is computed in code lossdoctor could not replay: "
                f"{built or 'it was not computed from the output of a model call'}")

    def _torch_loss_on_transform(self) -> str | None:
        """The name of the torch.nn loss that trained on something computed from the model's
        output (``F.nll_loss(F.log_softmax(out, 1), y)``, ``criterion(out / T, y)``), which
        the recorded program replays with that computation; None when it trained on the
        output itself (replayed as a LossFunction) or no such loss trained."""
        trained = [h for h in self._held if h.reached and h.scores_part]
        return trained[-1].record.loss_name if trained else None

    def _called_loss_wanted(self, built: loss_program.Built) -> bool:
        """The program copied as constants tensors the script's loss function was given
        besides the output (boxes per image), and its target (if any) is not one of them but
        made inside the function: the given tensors are the batch's targets, and the program
        would score every batch against this one's, so replays call the function instead. With
        a target the function was given, such constants are the loss's settings (class weights
        passed beside the labels)."""
        found = self._found_call
        if found is None or self._trained_on_whole_output():
            return False
        given_target = built.target is not None and (
            loss_program.storage_of(built.target) in found.storages)
        return not given_target and bool(found.storages & built.constant_storages)

    def _trained_on_whole_output(self) -> bool:
        """A torch.nn loss on the model's whole output is what the script's loss function
        returned: it is replayed as it is. One term of several (a detector's heatmap loss
        beside its size loss) is not the training loss."""
        found = self._found_call.loss() if self._found_call.loss is not None else None
        return any(h.reached and h.loss_copy is not None and h.output is not None
                   and h.output() is found for h in self._held)

    def _keep_called_loss(self, seen_loss: bool) -> None:
        """Replays call the script's loss function again (loss_callable.py); the batch of this
        step keeps its arguments, and batches kept before (with other targets) are dropped."""
        found, self._found_call = self._found_call, None
        # a run whose loss adds its loss calls up records their sum, the function's value
        self.copies.loss_replay = found.replay(
            curve_from_loss_calls=seen_loss and not self._summed_terms)
        self.copies.loss_problem = ""
        self._loss_call = found.call
        current = [h for h in self._held if h.forward == self.forwards]
        paired = [h.batch for h in current if h.batch is not None]
        if not paired:
            batch = self._paired_batch("train", found.arguments)
            paired = [batch] if batch is not None else []
            self._hold_batch(current, batch)
        for batch in paired:
            batch.target = found.arguments
        for sample in (self.copies.train, self.copies.validation):
            sample.batches = [b for b in sample.batches if isinstance(b.target, LossArguments)]

    def _hold_batch(self, current: list, batch) -> None:
        trained = [h for h in current if h.reached]
        if batch is not None and trained:
            trained[-1].batch = batch
        elif batch is not None:
            self._add_batch("train", batch)

    def _trained_inside_model(self) -> bool:
        return any(h.reached and h.inside_model for h in self._held)

    def _keep_program(self, built: loss_program.Built, name: str) -> None:
        self.copies.loss_replay = built.program
        if built.program.scale is not None:
            self._scaled_at_step = self.trace.steps
        if built.target is not None and built.selection is not None:
            self._select_rows_of_batches(built)
        elif built.target is not None:
            self.pair_batches_with(built.target)
            if built.program.row_values_read:  # the loss call's target came of it (above)
                self._pair_held_batches(built.target)
        self.copies.prediction_shape = tuple(built.prediction.shape[1:])
        # the loss before a penalty on the weights joins it: what the loss measures of the fit
        # (a penalty of 90% of the loss hid a cross-entropy, and with it the constant guess:
        # dev 12332, called healthy at the level of a constant guess)
        value = self._data_value if self._data_value is not None else built.value
        alike = self._quietly(alike_loss, value, built.prediction, built.target, name)
        self.trace.setup.loss_name = named_alike(name, alike)
        if built.program.ends_in_torch_loss:
            self.trace.setup.loss_kwargs = _torch_loss_settings(built.program)

    def _settle_scale(self) -> None:
        """At the backward pass after the one a scaled program was kept at: no optimizer step
        between the two (nor one in progress, as LBFGS's closure runs inside its step) is
        gradient accumulation, whose ``loss / steps`` a replay of one backward pass per step
        leaves out (loss_program.Scale)."""
        kept_at, self._scaled_at_step = self._scaled_at_step, None
        program = self.copies.loss_replay
        accumulating = self.trace.steps == kept_at and not self.copies.step_takes_closure
        if accumulating and isinstance(program, loss_program.LossProgram):
            self.copies.loss_replay = program.unscaled()

    def _inner_target_input(self, inputs: loss_program.StepInputs | None):
        """The model's input holding the target of the torch.nn loss computed inside this
        forward (the run's, the largest of several): followed by its data, whatever its
        name (mmengine's ``model(inputs, data_samples, mode='loss')``)."""
        terms = [t for t in self._inner_terms
                 if t.forward == self.forwards and t.target is not None]
        term = loss_terms.dominant(terms) or (terms[0] if terms else None)
        if inputs is None or term is None:
            return None
        return path_of_data(inputs.input_paths, term.target)

    def _place_returned_loss(self, built):
        """A model whose output holds its loss where no "loss" names it (a dict
        ``{'loss_cls': ...}`` the script adds up): the loss is the one output tensor the
        recorded training loss reads, its target the input that reached the torch.nn loss
        inside the forward. From then on each pass's batch is paired with that input. Returns
        this step's batch, so paired."""
        if self._returned_place is not None or not isinstance(built, loss_program.Built):
            return None
        places = built.program.output_places
        if len(places) != 1 or self._inner_input is None or built.prediction.dim() != 0:
            return None  # a loss per row, or several, is not taken whole from one place
        self._returned_place, self._returned_target = next(iter(places)), self._inner_input
        batch = self._target_taken_out("train", self._returned_target)
        self._hold_batch([h for h in self._held if h.forward == self.forwards], batch)
        return batch

    def _keep_returned_loss(self, name: str | None, batch=None) -> None:
        if self._returned_place is None or self._returned_target is None:
            self.copies.loss_problem = (
                "the model computes its own loss, and lossdoctor could not tell which of its "
                "inputs is the target (name it labels or targets, or pass it second)")
            return
        trained = self.copies.train.batches or ([batch] if batch is not None else [])
        self.copies.loss_replay = ReturnedLoss(
            self._returned_place, self._returned_target,
            settings_of(trained[0].kwargs) if trained else {}, self._returned_prediction)
        self.trace.setup.loss_terms = self._term_summaries
        if name == RETURNED_BY_MODEL:
            self.trace.setup.loss_name = named_alike(name, self._returned_likeness())

    def _add_penalty(self, built) -> None:
        """A penalty on the weights the loop added to the loss the model returned: replays
        add it too (penalized_returned_loss.py)."""
        replay = self.copies.loss_replay
        if not isinstance(built, loss_program.Built) or type(replay) is not ReturnedLoss:
            return
        penalty = built.program.penalty_term(replay.loss_place)
        if penalty is not None:
            self.copies.loss_replay = PenalizedReturnedLoss(**vars(replay), penalty=penalty)

    def _returned_likeness(self) -> str | None:
        found = [ref() for ref in self._returned_tensors]
        loss = self._returned_loss() if self._returned_loss is not None else None
        if loss is None or not found or any(t is None for t in found):
            return None  # not found: the model returned its loss and nothing beside it
        return self._quietly(alike_loss, _value(loss), *found)

    def _quietly(self, compute, *args):
        """``compute(*args)``, its torch.nn loss calls not taken for the script's."""
        self.loss_entered()
        try:
            return compute(*args)
        finally:
            self.loss_left()

    def _trained_batch(self):
        """The kept batch of a training step whose loss no loss call saw, paired with the
        target that loss used (the program's, at the first step; the model's own)."""
        pending, built = self._pending, self._built
        if pending is None or pending[0] != "train":
            return None
        if pending[1].target is not None:  # a loss the model returned: paired already
            self._pending = None
            return pending[1]
        if not isinstance(built, loss_program.Built):
            return None
        rows = self.last_batch_rows
        if not built.program.reads_target:
            return self._paired_batch("train", loss_program.no_target(rows))
        if built.target is None:
            return None
        if built.program.target_path is not None:
            return self._target_taken_out("train", built.program.target_path)
        if built.selection is not None:
            return self._selected_pair("train", (built.target, built.selection))
        return self._paired_batch("train", loss_program.target_row_copy(built.target, rows))

    def _target_taken_out(self, phase: str, path):
        """The kept batch, its target the model's input at ``path`` (a dict batch's target
        that a hand-written loss read): taken out of the inputs, as for a loss the model
        returns, and put back for the model by the replay."""
        pending = self._pending
        if pending is None or pending[0] != phase:
            return None
        self._pending = None
        batch = pending[1]
        return target_taken_out(batch, path) if has_input(batch.args, batch.kwargs, path) else None

    def _batch_of_loss(self, loss: torch.Tensor, phase: str):
        """The kept batch of the followed forward pass, paired with this loss's target."""
        pending = self._pending
        if pending is None or pending[0] != phase:
            return None
        if pending[1].target is not None:  # a loss the model returned: paired already
            self._pending = None
            return pending[1]
        replay = self.copies.loss_replay
        if isinstance(replay, loss_program.LossProgram) and replay.target_path is not None:
            return self._target_taken_out(phase, replay.target_path)
        spy, inputs = self._chain_spy, self._step_inputs
        if isinstance(replay, loss_program.LossProgram) and not replay.reads_target:
            return self._paired_batch(phase, loss_program.no_target(inputs.rows))
        tape = spy.tape if spy is not None else None
        if self._replay_selects_rows():
            found = (loss_program.selected_target_of(tape, loss, inputs)
                     if tape is not None else None)
            return self._selected_pair(phase, found)
        target = loss_program.target_of(tape, loss, inputs) if tape is not None else None
        if target is None:
            return None
        return self._paired_batch(phase, loss_program.target_row_copy(target, inputs.rows))

    def _learn_loss_chain(self, trained_by_torch_loss: bool) -> None:
        """After a backward pass: a torch.nn loss trains (chains are not needed), or the chain
        of the hand-written training loss is learnt (or cannot be, and is not looked for)."""
        if self._loss_chain is not None or not self._learning_chain:
            return
        self._learning_chain = not trained_by_torch_loss and self._root_chain is not None
        if self._learning_chain:
            self._loss_chain = unscaled(self._root_chain)

    def _trained_loss(self, root: torch.Tensor) -> tuple[str, torch.Tensor]:
        """A training loss no torch.nn loss computed: its name, and the tensor that holds its
        value (the model's own loss when backward started from it scaled by a number)."""
        returned = self._returned_loss() if self._returned_loss is not None else None
        if root is returned:
            return RETURNED_BY_MODEL, root
        if self._root_chain is not None and unscaled(self._root_chain) == ():
            return RETURNED_BY_MODEL, returned if returned is not None else root
        return HAND_WRITTEN, root

    @guarded
    def _scalar_computed(self, tensor: torch.Tensor, chain: Chain, rows: int) -> None:
        if self._loss_chain is None:
            return
        tentative = torch.is_grad_enabled() and tensor.requires_grad
        # Validation leaves out the training loss's penalty on the parameters.
        penalty_left_out = not tentative and chain == self._data_chain
        if chain != self._loss_chain and not penalty_left_out:
            return
        earlier = self._chain_held
        if earlier is not None and earlier.forward == self.forwards and (
                earlier.tentative == tentative):
            _grown(earlier, tensor)
            return
        name = RETURNED_BY_MODEL if chain == () else HAND_WRITTEN
        model, on_copy = self.scored_model()
        unread = read_later(tensor) if tentative else None
        record = LossRecord(tensor.item() if unread is None else math.nan, rows,
                            "train" if tentative else "eval", self.step, name,
                            model.training if model is not None else None, on_copy=on_copy)
        held = HeldLoss(record, self.forwards, tentative, unread=unread)
        held.batch = self._batch_of_loss(tensor, record.phase)
        if tentative:
            held.output = weakref.ref(tensor)
        else:  # the evaluated rows were scored by a loss (data_events._note_unscored)
            held.signature = self._take_signature()
        self._chain_held = held
        self._hold(held)


def _grown(held: HeldLoss, tensor: torch.Tensor) -> None:
    """A later scalar of the same forward pass through the loss's chain: the loss a loop adds
    up row by row (``loss += term``), one row further. The pass's loss is the last one."""
    if held.tentative:
        held.output = weakref.ref(tensor)
        held.unread = read_later(tensor)
        held.record.value = math.nan if held.unread is not None else tensor.item()
    else:  # committed already, when nothing else was held: its record is the trace's
        held.record.value = tensor.item()


def _found_call(watcher: CallWatcher, watched, tape: Tape, root: torch.Tensor):
    """The script's function that computed the loss backward starts from (or that loss
    scaled by a number, as loss_program unscales it)."""
    losses = [root]
    start = tape.ref(root)
    if isinstance(start, loss_program.Result):
        unscaled_loss = loss_program._result(tape.results, loss_program._unscaled(tape, start))
        losses.append(unscaled_loss)
    output, model = watched
    return found_loss_call(watcher, output, model, losses)


def _value(tensor: torch.Tensor) -> float:
    return float(tensor.detach().float().mean())


def _torch_loss_settings(program: loss_program.LossProgram) -> dict:
    """The settings of the torch.nn loss a recorded computation ends in (``ignore_index`` of
    a cross-entropy on ``output[1:].view(-1, V)``), as a loss called on the output records
    its own: the constant guess leaves out the labels the loss ignores."""
    last = program.calls[program.result.call]
    return plain({key: value for key, value in last.kwargs.items() if value is not None})
