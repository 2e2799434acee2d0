"""Losses: every loss computed (a torch.nn loss module or function, or the tensor backward is
called on) and every value logged by hand.

A loss computed while gradients are on is *held* until the next optimizer step (or parameter
update) tells what it was: the training loss when a backward pass went through it; a side
computation (a metric) when another loss of the same forward pass was the one trained on; an
evaluation otherwise (validation computed without ``no_grad``). A loss computed without
gradients is an evaluation at once; it waits behind held ones only to keep the order.

Whether backward went through a held loss (backward_events.py): backward started from it, the
common case; or an autograd pre-hook on its node says so, set when backward starts from
another tensor while the loss is still alive (``(loss / 4).backward()``). A loss already gone
by then (``loss = loss / 4``) is taken as trained when it belongs to the model's latest forward
pass, and as not trained otherwise. Pre-hooks are set only then: they cost more than the rest
of a step's bookkeeping.
"""

from __future__ import annotations

import copy
import functools
import math
import time
import weakref
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.capture import stats
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.loss_chains import WAITING
from lossdoctor.capture.loss_remainder import HAND_WRITTEN_TERM, hand_written_remainder
from lossdoctor.capture.loss_terms import added_terms, summed_calls
from lossdoctor.capture.model_setup import plain, public_settings
from lossdoctor.capture.per_row import DEFAULT_IGNORE_INDEX, per_element_mean, reduction_of
from lossdoctor.capture.replay_losses import LossFunction, same_data
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.scored_rows import ScoredRows, scored_rows
from lossdoctor.capture.summed_forwards import follow_to_backward, summed_last_calls
from lossdoctor.capture.tensors import batch_rows, copy_to_cpu, first_tensor
from lossdoctor.losses import loss_kind
from lossdoctor.trace import ActivationStat, LossInputStat, LossRecord, Trace

#: Held losses settled early, so that an evaluation loop run with gradients on and no step
#: after it cannot grow the queue without bound (a few megabytes at most).
MAX_HELD = 10_000
#: Devices whose loss values are read as soon as they are computed: on them a read waits for
#: nothing. On an accelerator ``.item()`` waits until the device has finished the step, so the
#: training loop could not queue the next one: training losses there are read together.
READ_AT_ONCE = frozenset({"cpu", "meta"})
#: Training losses read in one wait for the device: one wait every so many steps (a step's
#: launch costs tens of microseconds, a wait the whole queued step), and the live line's loss
#: at most that many steps old.
LOSSES_READ_TOGETHER = 32
#: ... and read at the first step this many seconds after the oldest of them was computed:
#: a slow step (a large model, seconds each) would leave the live line's loss minutes behind
#: after 32 steps; the monitor judges a curve without validation at most once a second too
#: (monitor.TRAIN_ONLY_INTERVAL), so the live line is at most about a second late.
LOSSES_READ_AFTER_SECONDS = 1.0
#: Why a loss on a slice of the model's output is not replayed, in the user's words.
PART_OF_OUTPUT = (
    "your training loss scores parts of the model's output or something computed from it (a "
    "slice such as p[..., 0], a log_softmax, or targets built in Python from the labels), "
    "which a replay cannot repeat on other batches")
#: Why a loss that compares the outputs of several model calls is not replayed.
SEVERAL_CALLS = (
    "your training loss compares the outputs of several calls of your model (such as "
    "TripletMarginLoss(model(anchor), model(positive), model(negative))), and lossdoctor "
    "replays a loss given one call's output and a target")


@dataclass
class LossCopy:
    """What the experiments need of the training loss, copied when it was computed."""

    name: str
    loss_fn: object
    prediction_shape: tuple
    settings: dict
    flat_target: bool = False  # the target had the batch's rows flattened together


@dataclass(slots=True)
class HeldLoss:
    """A loss call whose phase may wait for the next step. Plain numbers and copies only.
    Slots: one is made at every step, ~2 us less than with an instance dict (timed cold
    after a matmul, median of 300: 3.2 against 5.4 us)."""

    record: LossRecord
    forward: int  # the model's forward passes started before it: the pass it belongs to
    tentative: bool = False  # computed with gradients on: training or not, the step will tell
    #: Computed without gradients on an output that has them (``loss_fn(out.detach(), y)``, or
    #: under no_grad): a metric of a training step or an evaluation, the step will tell.
    side: bool = False
    reached: bool = False  # a backward pass went through it: a training loss
    logged: bool = False  # a value the user logged by hand
    inputs: LossInputStat | None = None
    batch: Batch | None = None
    saturation: ActivationStat | None = None
    loss_copy: LossCopy | None = None
    #: The loss scored a part of the model's output, not the output (a slice of it).
    scores_part: bool = False
    #: The loss's target is another output of the model: it compares several model calls.
    several_calls: bool = False
    output: weakref.ref | None = None  # the loss tensor, while the script holds it
    inside_model: bool = False  # computed inside the model's forward pass
    signature: list | None = None  # of an evaluated batch (train_split.Sketch)
    rescores: bool = False  # scores rows of the model's output that a loss already scored
    scored: ScoredRows | None = None  # the rows of the model's output it scored, if only some
    #: The loss value still on its device (0-d), read with others later (READ_AT_ONCE).
    unread: torch.Tensor | None = None
    #: The loss's autograd node, held until the first training backward pass has been read
    #: (learn_summed_terms: a loss added up in a temporary, ``sum(losses.values())``, is gone
    #: by then, its node still in the graph); nodes take no weak references.
    node: object | None = None

    def mark_reached(self, grad_outputs) -> None:
        """An autograd pre-hook on the loss's node: backward went through this loss."""
        self.reached = True


class LossEvents:
    """Loss calls become LossRecords; the first training loss is copied for the experiments,
    with its settings."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    copies: Copies
    sampled: bool
    last_train_loss: float | None
    events_since_step: bool
    validated_since_step: bool

    def _start_loss_events(self) -> None:
        self._held: list[HeldLoss] = []
        self._scored_forward = -1  # the model call whose output the last losses scored
        self._scored_rows = 0  # ... and how many of its rows they scored
        #: Training losses committed with their values still on the device, in commit order:
        #: they join the trace when read (read_losses), before any later record.
        self._unread_losses: list[tuple[LossRecord, torch.Tensor]] = []
        self._unread_since = 0.0  # time.monotonic() when the oldest of them was committed
        #: The names of the torch.nn losses a training step adds up, in their order in a
        #: forward pass, once the first step showed backward called on their sum (empty: the
        #: run's loss is one call).
        self._summed_terms: tuple[str, ...] = ()
        #: The training loss adds up loss calls on several model calls (summed_forwards.py):
        #: each training loss call is followed to the backward pass by its autograd node.
        self._follow_calls = False
        self._sum_name = ""  # ... and the sum's name: the largest term's at that step
        #: The term replays follow alone, when they cannot compute the sum (_follow_one_term).
        self._followed_term: int | None = None
        #: The validation record the terms of its forward pass are added to, that pass, and
        #: the term expected next.
        self._eval_sum: tuple[LossRecord, int, int] | None = None
        #: Which loss call of a forward pass pairs the kept batch with its target: the first,
        #: or the term whose target a replay of the whole loss reads (pair_batches_with).
        self._paired_term = 0
        #: The shape after the batch axis in which the replay's program reads the target, when
        #: it differs from the paired call's (Keras gives binary_crossentropy the labels (B,)
        #: expanded to (B, 1) inside the program): later kept batches keep it so.
        self._paired_shape: tuple | None = None
        self._call_forward, self._calls_in_forward = -1, 0
        #: The targets of the loss calls of the latest forward pass, until the replay is decided.
        self._term_targets: list[tuple[int, object, int | None]] = []

    @guarded
    def loss_computed(self, name: str, loss_fn, prediction, target, output, kwargs=None) -> None:
        self._loss_computed(name, loss_fn, prediction, target, output, kwargs)

    def _loss_computed(self, name: str, loss_fn, prediction, target, output, kwargs) -> None:
        """loss_computed for a caller already guarded (a loss module's forward_finished)."""
        if not isinstance(prediction, torch.Tensor):  # the common case skips the search
            prediction = first_tensor(prediction)
        if prediction is None or not isinstance(output, torch.Tensor):
            return
        # Computed with gradients on, else no output of it requires them (no grad-mode read).
        tentative = output.requires_grad
        reduction = reduction_of(loss_fn, kwargs)
        unread = read_later(output) if tentative and reduction != "sum" else None
        held = HeldLoss(self._loss_record(name, loss_fn, prediction, target, output, kwargs,
                                          "train" if tentative else "eval", reduction,
                                          unread is None),
                        self.forwards, tentative, unread=unread)
        held.side = not tentative and self._of_a_graded_output(prediction)
        held.rescores = self._rescores(held)
        if not held.inside_model and (self.sampled or not tentative):
            # Training scores the same rows at each step of a full-graph run: its sampled
            # steps say which (an ordinary step is spared the look).
            held.scored = scored_rows(prediction, self.last_outputs)
        # A target that is another output of the model: no target to pair a batch with.
        held.several_calls = self._compares_calls(prediction, first_tensor(target))
        # On an ordinary step of a run whose replay is decided, _note_target has nothing to do.
        if not held.several_calls and (self.sampled or self.inside_model
                                       or self._pending is not None or self._replay_undecided()):
            self._note_target(held, prediction, target)
        if held.inside_model and tentative:
            self._note_inner_term(held, prediction, target, output)
        if tentative:
            prepare = self.copies.loss_fn is None or self.sampled  # else there is nothing to do
            if prepare and not held.several_calls:
                self._prepare_training_copies(held, loss_fn, prediction, target, kwargs)
            held.output = weakref.ref(output)
            if not self._scale_noted:
                held.node = output.grad_fn
            if self._follow_calls:
                follow_to_backward(output, held)
        else:
            held.signature = self._take_signature()
            if name not in self.trace.setup.eval_reductions:
                self.trace.setup.eval_reductions[name] = reduction
        self._hold(held)

    def _of_a_graded_output(self, prediction: torch.Tensor) -> bool:
        """Whether ``prediction`` is an output of the latest model call computed with
        gradients, or its detached alias: that call was a training forward, or an evaluation
        run with gradients on."""
        if prediction.requires_grad:
            return True
        for ref in self.last_outputs:
            output = ref()
            if isinstance(output, torch.Tensor) and output.requires_grad and same_data(
                    output, prediction):
                return True
        return False

    def _note_target(self, held: HeldLoss, prediction: torch.Tensor, target) -> None:
        """The loss's inputs (on sampled steps), and its target paired with the batch."""
        if self.sampled:
            held.inputs = _loss_inputs(self.step, held.record.loss_name, prediction,
                                       first_tensor(target))
        if self.inside_model:  # the model returns this loss: its batch is paired after it
            held.inside_model = True
            self._inner_target = first_tensor(target)
        else:
            if held.side:  # a metric beside the training loss pairs no batch
                return
            if self._replay_undecided():
                self._note_term_target(held.forward, target, prediction)
            if self._pending is not None and self._pairs_batch(held.forward):
                # inputs wait for a target (else the target is not read)
                held.batch = self._paired_batch(held.record.phase, self._as_paired(target))

    def _as_paired(self, target):
        """The loss call's target as a kept batch holds it: one row per batch row, in the
        shape the replay reads (pair_batches_with)."""
        target = _per_row(target, self.last_batch_rows)
        shape = self._paired_shape
        if shape is None or not isinstance(target, torch.Tensor) or target.dim() == 0:
            return target
        if target.numel() != target.shape[0] * math.prod(shape):
            return target
        return target.reshape(target.shape[0], *shape)

    def _note_term_target(self, forward: int, target, prediction: torch.Tensor) -> None:
        """Until the replay is decided: each loss call's target, and which tensor of the
        model's output (an index into last_outputs) it scored, if any."""
        if self._term_targets and self._term_targets[-1][0] != forward:
            self._term_targets = []
        scored = next((i for i, ref in enumerate(self.last_outputs)
                       if reshaped_from(prediction, ref())), None)
        self._term_targets.append((forward, first_tensor(target), scored))

    def _pairs_batch(self, forward: int) -> bool:
        """Whether this loss call, of the kept batch's forward pass, pairs the batch with its
        target: the first call (a metric may follow it), or the term _paired_term names."""
        if forward != self._call_forward:
            self._call_forward, self._calls_in_forward = forward, 0
        index, self._calls_in_forward = self._calls_in_forward, self._calls_in_forward + 1
        return index == self._paired_term

    def pair_batches_with(self, target: torch.Tensor) -> None:
        """A training loss of several torch.nn loss calls, replayed whole by a recorded
        program that reads ``target`` as the batch's target (Tacotron2Loss: the stop gate's;
        the mel target is also a model input): kept batches are paired with the target of the
        call that read it, this step's and later ones, never with another call's."""
        targets = [t for forward, t, _ in self._term_targets if forward == self.forwards]
        self._term_targets = []
        index = next((i for i, t in enumerate(targets)
                      if isinstance(t, torch.Tensor) and same_data(t, target)), None)
        if index is None:
            return
        self._paired_term = index
        paired = _per_row(target, self.last_batch_rows)
        call_target = _per_row(targets[index], self.last_batch_rows)
        if paired.shape != call_target.shape:
            self._paired_shape = tuple(paired.shape[1:])
        for held in self._held:
            if held.forward == self.forwards and held.batch is not None:
                held.batch.target = copy_to_cpu(paired)

    def _compares_calls(self, prediction: torch.Tensor, target: torch.Tensor | None) -> bool:
        """Whether the loss compares outputs of different model calls: its target is (a view
        of) an output of an earlier call, or of the last call while its prediction is an
        earlier call's (a contrastive loss on two views). A loss has no target then. An output
        of the last call given with that call's prediction is not: a model may return its input
        (an autoencoder's ``reconstruction, x``). Class labels (integers) leave at once."""
        if target is None or self.inside_model or not target.is_floating_point():
            return False
        last = {id(ref) for ref in self.last_outputs}
        earlier = [ref for ref in self.recent_outputs if id(ref) not in last]
        if _among(target, self.last_outputs):  # a model may return its input every step
            return _among(prediction, earlier) and not _among(prediction, self.last_outputs)
        return _among(target, earlier)

    def _scores_whole_output(self, prediction: torch.Tensor) -> bool:
        """Whether the loss's input is one of the model's output tensors, or a view of it
        with its elements in the same order (``logits.view(-1, vocab)``, ``out.squeeze(-1)``):
        what a replay can feed the loss again by reshaping the output. A slice (``p[..., 0]``),
        a transpose, or anything computed from the output (``F.log_softmax(out, 1)``,
        ``out / temperature``) is not: the recorded program replays those (loss_program.py).
        Matching element counts is not enough: ``log_softmax(out)`` has as many as ``out``, and
        NLLLoss replayed on the raw output fell without bound (-8.95e6 on a healthy run)."""
        if self.inside_model or not self.last_outputs:
            return True
        return any(reshaped_from(prediction, ref()) for ref in self.last_outputs)

    def _rescores(self, held: HeldLoss) -> bool:
        """Whether every row of the last model call's output was already scored by a loss
        before this one: this one is then a metric or another term on the same output. Chunks
        of one output scored in turn are not (their rows add up to the output's)."""
        if held.inside_model or held.forward == 0 or not self.last_batch_rows:
            return False
        if held.forward != self._scored_forward:
            self._scored_forward, self._scored_rows = held.forward, 0
        rescores = self._scored_rows >= self.last_batch_rows
        self._scored_rows += held.record.rows
        return rescores

    def _loss_record(self, name, loss_fn, prediction, target, output, kwargs, phase,
                     reduction: str, read: bool = True):
        """The loss call's record; its value is read later when not ``read`` (it is the
        output, a mean loss, still on the device)."""
        if not read:
            value = math.nan
        elif reduction != "sum" and output.numel() == 1:  # per_element_mean's common case
            value = output.item()
        else:
            settings = kwargs if kwargs is not None else {}
            ignore_index = settings.get("ignore_index", getattr(loss_fn, "ignore_index",
                                                                 DEFAULT_IGNORE_INDEX))
            value = per_element_mean(name, output, prediction, target, reduction, ignore_index)
        shape = prediction.shape  # one read for both (a tensor read costs ~1-5 us cold)
        rows = shape[0] if shape else 0
        if self.copy_called is None:  # scored_model()'s common case, without its call
            model_ref, on_copy = self._model_ref, False
            model = model_ref() if model_ref is not None else None
        else:
            model, on_copy = self.scored_model()
        training = model.training if model is not None else None
        # Positional: a keyword makes the call build a dict (timed cold after a matmul, median
        # of 300: 1.9 against 7.8 us).
        return LossRecord(value, rows, phase, self.step, name, training, 1, False, on_copy)

    def _prepare_training_copies(self, held: HeldLoss, loss_fn, prediction, target,
                                  kwargs) -> None:
        """Copied now (the user's tensors are gone by the step), kept if it trains."""
        name = held.record.loss_name
        if self.copies.loss_fn is None and not self._scores_whole_output(prediction):
            held.scores_part = True
        elif self.copies.loss_fn is None:
            held.loss_copy = _copy_loss(name, loss_fn, prediction, kwargs)
            held.loss_copy.flat_target = _per_row(target, self.last_batch_rows) is not target
        if self.sampled and _takes_probabilities(name):
            held.saturation = _output_saturation(self.step, prediction, first_tensor(target))

    def _hold(self, held: HeldLoss) -> None:
        if not held.tentative and not held.side and not self._held:
            self._commit(held, held.record.phase)
            return
        self._held.append(held)
        if len(self._held) > MAX_HELD:
            self._settle_past_limit()

    def _settle_past_limit(self) -> None:
        """Past MAX_HELD held losses: those of earlier forward passes settle now."""
        current = [h.forward == self.forwards for h in self._held]
        self.settle_losses(current.index(True) if any(current) else None)

    @guarded
    def settle_losses(self, upto: int | None = None) -> None:
        """Decide the phase of the held losses (the first ``upto`` of them): called before
        each optimizer step, at a parameter update seen without one, and at the end."""
        self._settle_losses(upto)

    def _settle_losses(self, upto: int | None = None) -> None:
        if self._chain_spy is not None or WAITING:
            self._stop_following()
        if not self._held:
            return
        if upto is None:
            held, self._held = self._held, []
        else:
            held, self._held = self._held[:upto], self._held[upto:]
        trained = {h.forward for h in held if h.reached} if len(held) > 1 else ()
        if trained and self._summed_terms:
            if self._followed_term is None and self._replay_undecided():
                self._follow_one_term(held)
            held = self._terms_added(held)
        for entry in held:
            phase = "train" if entry.reached else _settled_phase(entry, trained)  # common first
            if phase is not None:
                self._commit(entry, phase)

    def learn_summed_terms(self, root: torch.Tensor, waiting: list) -> None:
        """Once, at the first training backward pass through loss calls: whether the tensor
        backward started from is the sum of the loss calls of the latest forward pass that it
        went through (a criterion returning ``mse + bce``, a model returning ``{"loss": bce +
        mse}``), or their sum plus a term written by hand (loss_remainder.py: three BCE calls and a
        masked squared error, ``sum(losses.values())``). Read once: a read per step would wait
        for an accelerator."""
        terms = [h for h in waiting if h.reached and h.forward == self.forwards]
        if len(terms) < 2 and root.numel() == 1:
            self._learn_summed_forwards(root, waiting)
        if len(terms) < 2 or root.numel() != 1:
            return
        values = [h.record.value if h.unread is None else h.unread.item() for h in terms]
        names = tuple(h.record.loss_name for h in terms)
        if summed_calls(values, float(root.detach().float())):
            self._learn_terms(names, values, values)
            return
        remainder = hand_written_remainder(root, [h.node for h in terms], values)
        if remainder is not None:
            self._learn_terms(names, values, [*values, remainder], HAND_WRITTEN_TERM)

    def _learn_terms(self, names: tuple[str, ...], values: list[float], shares: list[float],
                     *rest: str) -> None:
        """The run's loss adds the loss calls ``names`` up (with ``rest``, terms written by
        hand, whose values close ``shares``): records become their sums, named the largest."""
        self._summed_terms = names
        largest = max(range(len(values)), key=lambda i: abs(values[i]))
        self._sum_name = names[largest]
        if not self.trace.setup.loss_terms:
            self.trace.setup.loss_terms = added_terms((*names, *rest), shares)

    def _learn_summed_forwards(self, root: torch.Tensor, waiting: list) -> None:
        """Whether the loss backward was called on adds up the loss calls of several model
        calls (summed_forwards.py): they trained, and later ones are followed to backward."""
        summed = summed_last_calls(waiting, float(root.detach().float()))
        for held in summed:
            held.reached = True
        self._follow_calls = bool(summed)

    def _terms_added(self, held: list[HeldLoss]) -> list[HeldLoss]:
        """The training loss calls of each forward pass as one record when the run adds its
        terms up (learn_summed_terms): their sum, the step's loss as backward was called on
        it and as the script prints it; or, when replays follow one term (follow_one_term),
        that term's. Either is the first call's record, its name the largest term's."""
        groups: dict[int, list[HeldLoss]] = {}
        kept = []
        for entry in held:
            group = groups.setdefault(entry.forward, []) if entry.reached else None
            if group is None or not group:
                kept.append(entry)
            if group is not None:
                group.append(entry)
        for group in groups.values():
            if len(group) > 1:
                self._as_one(group)
        return kept

    def _as_one(self, group: list[HeldLoss]) -> None:
        first = group[0]
        for position, entry in enumerate(group):
            self._note_term_value(position, "train", entry)
        followed = self._followed_term
        if followed is not None and followed < len(group):
            term = group[followed]
            first.record.value, first.unread = term.record.value, term.unread
        for entry in group[1:]:
            if followed is None:
                _add_term(first, entry)
            if entry.loss_copy is not None and entry.loss_copy.name == self._sum_name:
                first.loss_copy = entry.loss_copy
            first.batch = first.batch or entry.batch
            if entry.inputs is not None:
                entry.inputs.phase = "train"
                self.trace.loss_inputs.append(entry.inputs)
            self.trace.training_rescores |= entry.rescores
        first.record.loss_name = self._sum_name

    def _follow_one_term(self, held: list[HeldLoss]) -> None:
        """At the first step of a run whose loss adds up loss calls on targets no recorded
        program or function of the script can give together (``mse(a, ya) + bce(b, yb)``
        written in the loop): replays compute one loss call on the model's output, so the run
        is followed and replayed as its largest term alone, with that term's own target (never
        another call's), and says so."""
        group = [h for h in held if h.reached and h.forward == self.forwards]
        calls = [(t, i) for forward, t, i in self._term_targets if forward == self.forwards]
        index = self._summed_terms.index(self._sum_name)
        if len(group) != len(self._summed_terms) or len(calls) != len(group):
            return
        term, (target, scored) = group[index], calls[index]
        if term.loss_copy is None or not isinstance(target, torch.Tensor) or scored is None:
            return
        self._followed_term = self._paired_term = index
        if index < len(self.trace.setup.loss_terms):
            self.trace.setup.loss_terms[index]["followed"] = True
        copied = term.loss_copy
        copied.flat_target = _per_row(target, self.last_batch_rows) is not target
        self.copies.loss_replay = LossFunction(copied.loss_fn, copied.prediction_shape,
                                               copied.flat_target, output_index=scored)
        batch = next((h.batch for h in group if h.batch is not None), None)
        if batch is not None:
            batch.target = copy_to_cpu(_per_row(target, self.last_batch_rows))
        names = " + ".join(self._summed_terms)
        self.trace.notes.append(
            f"Your training loss adds up {len(group)} losses on different targets ({names}); "
            f"lossdoctor can replay only one of them, so its curves and replays here follow "
            f"the largest, {self._sum_name}, alone.")

    def _note_term_value(self, position: int, phase: str, held: HeldLoss) -> None:
        """Each term's first and best loss in ``phase`` (Setup.loss_terms), which the summed
        records no longer show: a term that never learned beside one that swamps the sum."""
        terms, value = self.trace.setup.loss_terms, held.record.value
        if position >= len(terms) or held.unread is not None or not math.isfinite(value):
            return
        term = terms[position]
        term.setdefault(f"{phase}_first", value)
        term[f"{phase}_best"] = min(term.get(f"{phase}_best", value), value)

    def _summed_evaluation(self, held: HeldLoss) -> bool:
        """An evaluation loss call that is a term of the run's summed loss, after the first
        term on the same forward pass: added to that term's record (the validation loss the
        script computes the same way as its training loss), not recorded on its own; with
        replays following one term, only that term is recorded. A validation that computes
        some terms only is recorded as those."""
        names, record = self._summed_terms, held.record
        current = self._eval_sum
        if current is not None and current[1] == held.forward and current[2] < len(names) and (
                names[current[2]] == record.loss_name):
            position = current[2]
            self._eval_sum = (current[0], current[1], position + 1)
            self._note_term_value(position, "eval", held)
            if self._followed_term is None:
                current[0].value += record.value
            elif position == self._followed_term:
                current[0].value = record.value
            return True
        self._eval_sum = None
        if record.loss_name == names[0]:
            self._note_term_value(0, "eval", held)
            self._eval_sum, record.loss_name = (record, held.forward, 1), self._sum_name
        return False

    def _commit(self, held: HeldLoss, phase: str) -> None:
        record = held.record
        record.phase = phase
        record.rescored = held.rescores and phase == "eval"
        if phase == "eval" and not record.rescored:
            self._count_validation_dropout(held.forward)
        if held.rescores and phase == "train":
            self.trace.training_rescores = True
        if held.unread is not None and phase != "train":
            record.value = held.unread.item()  # settled as an evaluation: not a step's wait
        if phase == "eval" and self._summed_terms and self._summed_evaluation(held):
            self.events_since_step = self.validated_since_step = True
            if held.batch is not None:
                self._add_batch(phase, held.batch)
            return
        unread = held.unread if phase == "train" else None
        if unread is None and not self._unread_losses:  # _add_in_order's common case
            self.trace.add_loss(record)
        else:
            self._add_in_order(record, unread)
        if held.inputs is not None:
            held.inputs.phase = phase
            self.trace.loss_inputs.append(held.inputs)
        if phase == "eval":
            record.with_gradients = held.tentative
            self.events_since_step = self.validated_since_step = True
            self._note_evaluation(record, held.signature, held.scored)
        elif not held.logged:
            if held.scored is not None:  # (on sampled steps) else it has nothing to note
                self._note_trained_rows(held.scored)
            self._commit_training(held)
        else:
            self.last_train_loss = record.value
        if held.batch is not None:
            self._add_batch(phase, held.batch)

    def _add_in_order(self, record: LossRecord, unread: torch.Tensor | None) -> None:
        """The record joins the trace now, or with the training losses waiting to be read;
        records keep their order (a validation pass is read with those before it)."""
        if unread is not None:
            if not self._unread_losses:
                self._unread_since = time.monotonic()
            self._unread_losses.append((record, unread))
            if (len(self._unread_losses) >= LOSSES_READ_TOGETHER
                    or time.monotonic() - self._unread_since >= LOSSES_READ_AFTER_SECONDS):
                self._read_losses()
            return
        if self._unread_losses:
            self._read_losses()
        self.trace.add_loss(record)

    @guarded
    def read_losses(self) -> None:
        """Read the training losses still on the device into the trace (before the curves
        are judged, and at the end)."""
        self._read_losses()

    def _read_losses(self) -> None:
        unread, self._unread_losses = self._unread_losses, []
        if not unread:
            return
        # Each in its own dtype, as .item() reads it on the CPU: a float64 loss keeps its
        # precision (and MPS has no float64 to convert to).
        tensors = [value.detach().reshape(()) for _, value in unread]
        alike = len({(t.device, t.dtype) for t in tensors}) == 1
        values = torch.stack(tensors).tolist() if alike else [t.item() for t in tensors]
        for (record, _), value in zip(unread, values, strict=True):
            record.value = value
            self.trace.add_loss(record)
        self.last_train_loss = values[-1]

    def _commit_training(self, held: HeldLoss) -> None:
        record = held.record
        if held.unread is None:
            self.last_train_loss = record.value
        self._count_training_loss(record.rows)
        if held.loss_copy is not None and self.copies.loss_fn is None:
            self._keep_loss_copy(held.loss_copy)
        elif held.several_calls and self.copies.replay_loss is None:
            self.copies.loss_problem = SEVERAL_CALLS
        elif held.scores_part and self.copies.replay_loss is None and not self.copies.loss_problem:
            self.copies.loss_problem = PART_OF_OUTPUT
        if not self.trace.setup.loss_name:
            self.trace.setup.loss_name = record.loss_name
        if held.saturation is not None:
            self.trace.activations.append(held.saturation)

    def _keep_loss_copy(self, loss_copy: LossCopy) -> None:
        self.copies.loss_fn = loss_copy.loss_fn
        self.copies.prediction_shape = loss_copy.prediction_shape
        self.copies.flat_target = loss_copy.flat_target
        self.trace.setup.loss_name = loss_copy.name
        self.trace.setup.loss_kwargs = loss_copy.settings

    def _record_trained_tensor(self, name: str, loss: torch.Tensor, rows: int,
                               batch=None) -> None:
        """The tensor a backward pass started from, when no loss call seen led to it."""
        model = self.model
        mean = loss.detach().float().mean() if loss.numel() != 1 else loss.detach()
        unread = read_later(mean)
        record = LossRecord(math.nan if unread is not None else mean.item(), rows, "train",
                            self.step, name, model.training if model is not None else None)
        self._hold(HeldLoss(record, self.forwards, reached=True, batch=batch, unread=unread))

    @guarded
    def log(self, name: str, value: float, step: int | None = None) -> None:
        """A value computed by hand: a validation or training loss joins the loss curves,
        anything else is kept under its name."""
        step = self.step if step is None else int(step)
        phase = _logged_phase(name)
        if phase is None:
            self.trace.log_value(name, step, float(value))
            return
        record = LossRecord(float(value), 1, phase, step, name, None)
        self._hold(HeldLoss(record, self.forwards, logged=True))


def read_later(loss: torch.Tensor) -> torch.Tensor | None:
    """The loss value to read later, or None to read it now (READ_AT_ONCE, or not a scalar)."""
    # is_cpu is a bool read, where ``.device`` builds a torch.device: ~15 us of a CPU step's
    # watching (loss_computed 54 -> 39 us on the MLP, bench/step_overhead.py --handlers).
    device = "cpu" if loss.is_cpu else loss.device.type
    if device in READ_AT_ONCE or loss.numel() != 1:
        return None
    return loss.detach()


def reshaped_from(tensor: torch.Tensor, output: torch.Tensor | None) -> bool:
    """``tensor`` is ``output``, or a view of its memory holding the same elements in the same
    order (a reshape of a contiguous output)."""
    if output is None:
        return False
    if tensor is output:
        return True
    if tensor.layout != torch.strided or output.layout != torch.strided:
        return False
    return (tensor.numel() == output.numel() and tensor.is_contiguous()
            and output.is_contiguous() and tensor.data_ptr() == output.data_ptr()
            and tensor.dtype == output.dtype)


def _among(tensor: torch.Tensor, outputs) -> bool:
    """``tensor`` is one of the weakly held ``outputs``, or a view of one (reshaped_from)."""
    return any(reshaped_from(tensor, ref()) for ref in outputs)


def _add_term(first: HeldLoss, term: HeldLoss) -> None:
    """``term``'s value added to ``first``'s record, on the device when either waits there."""
    if first.unread is None and term.unread is None:
        first.record.value += term.record.value
        return
    mine = first.unread if first.unread is not None else first.record.value
    theirs = term.unread if term.unread is not None else term.record.value
    first.unread = mine + theirs


def _settled_phase(held: HeldLoss, trained: set[int]) -> str | None:
    """"train", "eval", or None for a side computation of a forward pass that trained."""
    if held.reached:
        return "train"
    if not held.tentative and not held.side:
        return held.record.phase
    return None if held.forward in trained else "eval"


def _copy_loss(name: str, loss_fn, prediction: torch.Tensor, kwargs) -> LossCopy:
    if isinstance(loss_fn, nn.Module):
        copied = copy.deepcopy(loss_fn)
    else:
        copied = functools.partial(loss_fn, **copy_to_cpu(kwargs or {}))
    settings = kwargs if kwargs is not None else public_settings(loss_fn)
    return LossCopy(name, copied, tuple(prediction.shape[1:]), plain(settings))


def _per_row(target, rows: int):
    """A target with the batch's rows flattened together (``y.view(-1)`` of a sequence batch)
    as one row per batch row, as the batch keeps it; any other target as it is."""
    if not isinstance(target, torch.Tensor) or target.dim() != 1 or rows == 0:
        return target
    if target.shape[0] == rows or target.shape[0] % rows:
        return target
    return target.reshape(rows, -1)


def _loss_inputs(step: int, name: str, prediction: torch.Tensor, target) -> LossInputStat | None:
    if target is None or prediction.numel() == 0 or target.numel() == 0:
        return None
    return LossInputStat(step=step, phase="", loss_name=name,
                         **stats.loss_input_numbers(prediction, target))


def _output_saturation(step: int, prediction: torch.Tensor, target) -> ActivationStat:
    return ActivationStat(
        step=step,
        layer="model output",
        kind="probabilities",
        saturated_fraction=stats.saturated_fraction("probabilities", prediction),
        dead_fraction=0.0,
        units=int(prediction.numel() // max(batch_rows(prediction), 1)),
        pinned_on_target=pinned_on_target(prediction, target),
    )


def pinned_on_target(prediction: torch.Tensor, target) -> float | None:
    """Of the probabilities pinned at 0 or 1 (stats.SATURATION_MARGIN), the share pinned at the
    side their own target is on (below or above 0.5); None when no target of the same number
    of elements is given or nothing is pinned."""
    if not isinstance(target, torch.Tensor) or target.numel() != prediction.numel():
        return None
    margin = stats.SATURATION_MARGIN["probabilities"]
    values = prediction.detach().float().reshape(-1)
    high = target.detach().reshape(-1).float() > 0.5
    low_pinned, high_pinned = values <= margin, values >= 1 - margin
    pinned = int((low_pinned | high_pinned).sum())
    if pinned == 0:
        return None
    return int((low_pinned & ~high).sum() + (high_pinned & high).sum()) / pinned


def _logged_phase(name: str) -> str | None:
    """"val_loss", "validation/loss" -> "eval"; "train_loss", "loss" -> "train"; else None."""
    lowered = name.lower()
    if "loss" not in lowered:
        return None
    return "eval" if any(word in lowered for word in ("val", "test", "eval")) else "train"


def _takes_probabilities(loss_name: str) -> bool:
    kind = loss_kind(loss_name)
    return kind is not None and kind.output == "probabilities"
