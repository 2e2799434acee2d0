"""Batches and data-loader passes: a sample of the batches (inputs paired with their targets)
for the experiments, and the training loader's passes, which are the epochs."""

from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import replace

import torch

from lossdoctor.capture.copies import Copies
from lossdoctor.capture.fed_back import FED_BACK, fed_back
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.loss_callable import LossArguments
from lossdoctor.capture.model_setup import trained_by
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.scored_rows import ScoredRows, other_rows, other_selection
from lossdoctor.capture.tensors import batch_rows, copy_to_cpu, tensors_in
from lossdoctor.capture.train_split import (
    Sketch,
    TrainingData,
    of_training_data,
    signature,
    training_hashes,
)
from lossdoctor.capture.training_estimate import TRAINING_ESTIMATE_FACTOR, far_above_training
from lossdoctor.capture.upstream import UPSTREAM, trained_upstream
from lossdoctor.trace import LossRecord, Trace

#: Evaluated batches whose signature is kept (32 hashes each: a few megabytes at most).
MAX_SIGNED = 20_000
#: Evaluations no loss scored whose signature is kept: enough for a curve of a metric
#: computed at every epoch of a long run.
MAX_UNSCORED = 2_000


class DataEvents:
    """A model's inputs are kept until a loss gives their target; then the pair joins the
    training or validation sample. The training loader is the one most training losses
    followed."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    copies: Copies
    events_since_step: bool
    _optimizer_ref: weakref.ref | None

    def _start_data_events(self) -> None:
        self._pending: tuple[str, Batch] | None = None
        #: Each loader pass, as (loader key, step at its start); the passes training drew from.
        self._passes: list[tuple[tuple, int]] = []
        self._trained_passes: set[int] = set()
        self._current_pass: int | None = None
        self._loader_lengths: dict[tuple, int] = {}  # batches per pass, for loaders with len()
        self._train_losses_by_loader: Counter = Counter()
        self._current_loader: tuple | None = None
        #: The dataset the last batch was drawn from (DatasetOf), and those training drew from.
        self._current_dataset: DatasetOf | None = None
        self._training_datasets: set[DatasetOf] = set()
        self._train_rows: Counter = Counter()  # rows per training loss call -> calls
        #: Training loss calls not yet in the counters (_count_training_loss): their rows,
        #: loader pass, (loader key, dataset) and number.
        self._run_rows, self._run_pass, self._run_calls = 0, None, 0
        self._run_drawn: tuple = (None, None)
        self._signature: Sketch | None = None  # of the last model call without gradients
        #: "train" or "eval": the phase of the last model call, told at its start (gradients
        #: are on or off alike at its end): torch.is_grad_enabled() read once a call, not twice.
        self._call_phase = "train"
        #: Evaluation losses with the signature of the batch they scored (train_split.py) and
        #: the dataset it was drawn from.
        self._signed: list[tuple[LossRecord, Sketch, DatasetOf | None, ScoredRows | None]] = []
        #: Evaluations no loss scored (a metric such as accuracy or AUC computed instead): the
        #: step, the signature of the batch and its dataset.
        self._unscored: list[tuple[int, Sketch, DatasetOf | None]] = []
        #: Rows of the model's output the training losses scored, by the output's rows, when
        #: they scored only some of them (scored_rows.py: a graph's output[idx_train]).
        self._trained_rows: dict[int, set] = {}
        self._signed_dataset: DatasetOf | None = None
        self._last_reseeded_step = 0
        self.seeded = False

    def _keep_inputs(self, args, kwargs, output=None) -> None:
        """At the end of a model call, whose phase _sign_inputs noted at its start."""
        if self._pending is not None:  # else _keep_unpaired_inputs has nothing to do
            self._keep_unpaired_inputs()
        phase = self._call_phase
        sample = self.copies.train if phase == "train" else self.copies.validation
        if sample.complete:
            return
        rows = batch_rows((args, kwargs))
        if rows and sample.wants(rows):
            if phase == "train" and self._fed_back(args, kwargs):
                return
            self._pending = (phase, Batch(copy_to_cpu(args), copy_to_cpu(kwargs), None, rows))
            if self._loss_call is not None:  # the loss's own function gives its targets
                self._watch_loss_call(output)

    def _fed_back(self, args, kwargs) -> bool:
        """Whether this training call was given what an earlier call computed (fed_back.py):
        such a call cannot stand for a training step in replays, and is not kept. Once such a
        loop is seen, an input with a graph is taken for its state without walking the graph:
        the walk would run on every call of the loop that the sample still wants."""
        inputs = tensors_in((args, kwargs))
        if self.copies.replay_problem == FED_BACK:
            return any(t.grad_fn is not None for t in inputs)
        if not fed_back(inputs, self.model):
            self._note_trained_upstream(inputs)
            return False
        self.copies.replay_problem = FED_BACK
        return True

    def _note_trained_upstream(self, inputs: list[torch.Tensor]) -> None:
        """Whether another module the optimizer trains (at a positive rate) computed this
        training call's inputs (upstream.py): replays of the model alone do not stand for the
        run."""
        optimizer = self._optimizer_ref() if self._optimizer_ref is not None else None
        if self.copies.replay_problem or optimizer is None:
            return
        if trained_upstream(inputs, self.model, trained_by(optimizer)):
            self.copies.replay_problem = UPSTREAM

    def _keep_unpaired_inputs(self) -> None:
        """A training batch that no loss paired with its target before the next model call
        joins the inputs-only sample."""
        pending, self._pending = self._pending, None
        if pending is None or pending[0] != "train":
            return
        inputs = self.copies.train_inputs
        if not inputs.complete and inputs.wants(pending[1].rows):
            inputs.add(pending[1])

    def _paired_batch(self, phase: str, target) -> Batch | None:
        """The inputs kept from the model call this loss followed, with their target."""
        if self._pending is None or self._pending[0] != phase:
            return None
        _, batch = self._pending
        if not isinstance(batch.target, LossArguments):  # the loss function's, kept whole
            batch.target = copy_to_cpu(target)
        batch.row_values = self._row_values_now(batch.rows)
        self._pending = None
        return batch

    def _row_values_now(self, rows: int) -> dict:
        """The lists of per-row numbers the loss just computed was given (row_values.py):
        known where its calls were recorded (hand_written_events.py)."""
        return {}

    def _sign_inputs(self, args, phase: str | None = None) -> None:
        """At the start of a model call (in ``phase``, if the caller read it), before its
        forward (which may compute the loss): without gradients, the signature of the batch
        it evaluates."""
        if self._signature is not None:
            self._note_unscored()
        self._call_phase = phase = phase or current_phase()
        signed = phase == "eval" and len(self._signed) < MAX_SIGNED
        self._signature = signature(args, {}) if signed else None
        self._signed_dataset = self._current_dataset

    def _note_unscored(self) -> None:
        """The last evaluation ended with no loss scoring it (its signature not taken)."""
        if len(self._unscored) < MAX_UNSCORED:
            self._unscored.append((self.step, self._signature, self._signed_dataset))
        self._signature = None

    def _take_signature(self) -> Sketch | None:
        """The signature of the batch an evaluation loss scored (the last no-grad model call)."""
        taken, self._signature = self._signature, None
        return taken

    def _note_evaluation(self, record: LossRecord, sketch: Sketch | None,
                         scored: ScoredRows | None = None) -> None:
        if sketch is not None:
            self._signed.append((record, sketch, self._signed_dataset, scored))

    def _note_trained_rows(self, scored: ScoredRows | None) -> None:
        if scored is not None:
            self._trained_rows.setdefault(scored.of, set()).update(scored.rows)

    @guarded
    def reseeded(self) -> None:
        """torch.manual_seed was called: counted once per optimizer step, from the first on
        (seeding before training is what scripts should do)."""
        self.seeded = True
        if self.step > self._last_reseeded_step:
            self._last_reseeded_step = self.step
            self.trace.reseeded_steps += 1

    def _add_batch(self, phase: str, batch: Batch) -> None:
        sample = self.copies.train if phase == "train" else self.copies.validation
        batch.step = self.step
        batch.drawn_from = self._current_dataset
        sample.add(batch)

    def _count_training_loss(self, rows: int) -> None:
        """Counted in runs: the calls of a training loop's steps (the same rows, from the same
        loader pass) add to one number, which joins the counters when either changes and before
        they are read (_settle_data); four counters touched at every step cost ~5 us of an MLP's
        step (bench/step_overhead.py). The pass names its loader and dataset (batch_drawn)."""
        if rows == self._run_rows and self._current_pass == self._run_pass and self._run_calls:
            self._run_calls += 1
            return
        self._count_run()
        self._run_rows, self._run_pass, self._run_calls = rows, self._current_pass, 1
        self._run_drawn = self._current_loader, self._current_dataset

    def _count_run(self) -> None:
        """The training loss calls of the current run join the counters."""
        calls, self._run_calls = self._run_calls, 0
        if not calls:
            return
        loader, dataset = self._run_drawn
        self._train_rows[self._run_rows] += calls
        self._train_losses_by_loader[loader] += calls
        self._training_datasets.add(dataset)
        self._trained_passes.add(self._run_pass)

    @guarded
    def loader_started(self, loader) -> tuple[tuple, DatasetOf, int]:
        """A pass over a loader; returns what its batches are drawn from (the loader's key, its
        dataset, the pass), for batch_drawn. Only passes that training drew from are epochs: not
        an evaluation pass over the training loader (LLMs-from-scratch's evaluate_model), nor
        the pass Keras starts before an epoch ends and starts again later."""
        key = _loader_key(loader)
        self._loader_lengths[key] = _batches_per_pass(loader)
        self.events_since_step = True
        self._passes.append((key, self.step))
        drawn = key, _dataset_of(loader), len(self._passes) - 1
        self._current_loader, self._current_dataset, self._current_pass = drawn
        return drawn

    @guarded
    def batch_drawn(self, drawn: tuple[tuple, DatasetOf, int] | None) -> None:
        """A batch was drawn from the loader pass ``drawn`` (loader_started's answer): the
        losses that follow are that pass's, though another loader was started since (a
        training pass resumed after an evaluation pass over other loaders)."""
        if drawn is not None:
            self._current_loader, self._current_dataset, self._current_pass = drawn

    def _settle_data(self) -> None:
        """At the end of the run: the epochs, the batch size, and why no batch was kept."""
        self._count_run()
        self._settle_epochs()
        if self._signature is not None:
            self._note_unscored()
        training = training_hashes(self.copies.train.batches)
        self._count_unscored_evaluations(training)
        self._separate_training_evaluations(training)
        self._explain_missing_samples()
        self.trace.setup.batch_size = _most_common(self._train_rows)

    def _settle_epochs(self) -> None:
        counted = {k: v for k, v in self._train_losses_by_loader.items() if k is not None}
        if counted:
            train_loader = max(counted, key=counted.get)
            self.trace.epoch_starts = [step for index, (key, step) in enumerate(self._passes)
                                       if key == train_loader and index in self._trained_passes]
            self.trace.setup.loader_batches = self._loader_lengths.get(train_loader, 0)

    def _count_unscored_evaluations(self, training: TrainingData) -> None:
        """The optimizer steps at which the script evaluated rows that are not its training
        data, with no loss after the model call; an evaluation before the first step is the
        untrained model's score, no point of the training (corpus nielsen's fixed twin: one
        epoch, its test accuracy before and after). A hand-written loss computed on the
        evaluated rows takes their signature as a torch.nn loss does (hand_written_events.py
        after a module's forward, tensor_events.py after a model of plain tensors), whatever it
        computes: the chain of torch calls it followed in training, a loop over the rows
        included (loss_chains.joined; fresh28 s09, wekws' max-pooling loss on its cv rows)."""
        steps = {step for step, sketch, dataset in self._unscored if step > 0 and (
            training.empty or not (self._training_split(dataset)
                                   and of_training_data(sketch, training)))}
        self.trace.unscored_evaluation_steps = len(steps)
        self._unscored = []

    def _separate_training_evaluations(self, training: TrainingData) -> None:
        """Evaluations of batches from the training data become "train_eval" (left out of the
        validation curve), unless they scored other rows of the output than training did (one
        forward over every row, scored on index subsets: scored_rows.py) or scored far above
        training (training_estimate.py: then their batches stay too); batches from the
        training data leave the validation sample, unless the kept batch holds the other rows
        it scored (row_selection.py: a replay then scores those rows)."""
        if training.empty:
            return
        alike = [(record, scored) for record, sketch, dataset, scored in self._signed
                 if self._training_split(dataset) and of_training_data(sketch, training)]
        estimates = [record for record, scored in alike
                     if not other_rows(scored, self._trained_rows)]
        indexed = len(alike) - len(estimates)
        validation = far_above_training(estimates, self.trace.losses)  # not estimates at all
        for record in [] if validation else estimates:
            record.phase = "train_eval"
        kept_steps = {record.step for record in estimates} if validation else set()
        self._signed = []
        kept = self.copies.validation
        trained = [b.selection for b in self.copies.train.batches if b.selection is not None]
        kept.batches = [self._as_trained(b) if b.step in kept_steps else b
                        for b in kept.batches
                        if b.step in kept_steps or other_selection(b.selection, trained) or not (
                            self._training_split(b.drawn_from)
                            and _of_training_data(b, training))]
        counts = (len(estimates), 0) if validation else (0, len(estimates))
        self._note_training_evaluations(*counts, indexed)

    def _as_trained(self, batch: Batch) -> Batch:
        """The batch as training calls the model: without the keyword arguments no training
        call gave it (time_sequence_prediction's ``future=``, which makes the model forecast
        beyond the observed points), so that replays and validation_path score its rows with
        the training computation."""
        trained = {key for b in self.copies.train.batches for key in b.kwargs}
        if set(batch.kwargs) <= trained:
            return batch
        return replace(batch, kwargs={k: v for k, v in batch.kwargs.items() if k in trained})

    def _note_training_evaluations(self, kept: int, moved: int, indexed: int) -> None:
        if kept:
            self.trace.notes.append(
                f"{kept} evaluation loss calls scored rows alike your training data's, but far "
                f"above the training loss around them (more than {TRAINING_ESTIMATE_FACTOR:g} "
                f"times): not a training-split estimate, they are your validation curve.")
        if moved:
            self.trace.notes.append(
                f"{moved} evaluation loss calls scored batches of your training data (a "
                f"training-split estimate, as nanoGPT's estimate_loss makes): they are kept out "
                f"of the validation curve.")
        if indexed:
            self.trace.notes.append(
                f"{indexed} evaluation loss calls scored other rows of the same forward as "
                f"training (such as output[idx_val] beside output[idx_train]): they are your "
                f"validation curve{self._replayed_rows()}.")

    def _replayed_rows(self) -> str:
        if any(b.selection is not None for b in self.copies.validation.batches):
            return ", and the experiments score their rows"
        return (". Their rows are not replayed: the experiments that need validation batches "
                "use held-out training batches or skip")

    def _training_split(self, dataset: DatasetOf | None) -> bool:
        """Whether rows drawn from ``dataset`` may be the training data's, for the content test
        to decide: not when a loader drew them from a dataset of its own, another object of
        another length over another root than every dataset training drew from (the script's
        own split; the content test takes rows of a small vocabulary's text, whose every 8-gram
        recurs, for training rows). A dataset of the training set's length (a copy of it
        wrapped anew), a Subset of the training set and rows drawn without a loader are left to
        the content test."""
        if dataset is None or None in self._training_datasets:
            return True
        lengths = {length for _, length, _ in self._training_datasets}
        roots = {root for _, _, root in self._training_datasets}
        return dataset in self._training_datasets or dataset[1] in lengths or dataset[2] in roots

    def _explain_missing_samples(self) -> None:
        if self.trace.train_losses() and not self.copies.train.batches:
            why = self.copies.replay_problem or self.copies.loss_problem or (
                "the training loss was not computed from the output of a model call")
            self.trace.notes.append(
                f"No training batch could be paired with its targets ({why}), so the "
                "experiments that replay your training were skipped."
            )


def _batches_per_pass(loader) -> int:
    try:
        return len(loader)
    except TypeError:  # an IterableDataset without a length
        return 0


#: A dataset a loader draws from: the object's identity, its length (None without one) and
#: the identity of the dataset it wraps at the bottom (a Subset's .dataset, and so on).
DatasetOf = tuple[int, "int | None", int]


def _dataset_of(loader) -> DatasetOf:
    dataset = getattr(loader, "dataset", None)
    try:
        length = len(dataset)
    except TypeError:  # an IterableDataset without a length
        length = None
    return id(dataset), length, id(_root(dataset))


#: Wrappers followed to the dataset at the bottom (Subset of a Subset of ...): a few at most.
MAX_WRAPPERS = 8


def _root(dataset):
    for _ in range(MAX_WRAPPERS):
        inner = getattr(dataset, "dataset", None)
        if inner is None or inner is dataset:
            return dataset
        dataset = inner
    return dataset


def _loader_key(loader) -> tuple:
    """What a loader reads, the same for a new loader over the same split: Keras builds one
    every epoch, and so do scripts that make their DataLoader inside the epoch loop."""
    try:
        batches = len(loader)
    except TypeError:  # an IterableDataset without a length
        batches = id(loader.dataset)
    # not `or`: the truth of a BatchSampler is its len(), which an IterableDataset's lacks
    batch_sampler = getattr(loader, "batch_sampler", None)
    sampler = batch_sampler if batch_sampler is not None else loader.sampler
    inner = getattr(sampler, "sampler", sampler)
    return (type(loader.dataset).__qualname__, batches, type(inner).__name__)


def current_phase() -> str:
    """"train" while gradients are on, else "eval"."""
    return "train" if torch.is_grad_enabled() else "eval"


def _of_training_data(batch: Batch, training: TrainingData) -> bool:
    sketch = signature(batch.args, batch.kwargs)
    return sketch is not None and of_training_data(sketch, training)


def _most_common(counts: Counter) -> int:
    return counts.most_common(1)[0][0] if counts else 0
