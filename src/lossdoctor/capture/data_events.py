"""Batches and data-loader passes: a sample of the batches (inputs paired with their targets)
for the experiments, and the training loader's passes, which are the epochs."""

from __future__ import annotations

from collections import Counter

import torch

from lossdoctor.capture.copies import Copies
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import batch_rows, copy_to_cpu
from lossdoctor.trace import Trace


class DataEvents:
    """A model's inputs are kept until a loss gives their target; then the pair joins the
    training or validation sample. The training loader is the one most training losses
    followed."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    copies: Copies
    events_since_step: bool

    def _start_data_events(self) -> None:
        self._pending: tuple[str, Batch] | None = None
        self._loader_starts: dict[tuple, list[int]] = {}
        self._train_losses_by_loader: Counter = Counter()
        self._current_loader: tuple | None = None
        self._trained_at_start: dict[tuple, int] = {}  # training losses at the last pass start
        self._train_rows: Counter = Counter()  # rows per training loss call -> calls

    def _keep_inputs(self, args, kwargs) -> None:
        phase = current_phase()
        sample = self.copies.train if phase == "train" else self.copies.validation
        self._pending = None
        if sample.complete:
            return
        rows = batch_rows((args, kwargs))
        if rows and sample.wants(rows):
            self._pending = (phase, Batch(copy_to_cpu(args), copy_to_cpu(kwargs), None, rows))

    def _paired_batch(self, phase: str, target) -> Batch | None:
        """The inputs kept from the model call this loss followed, with their target."""
        if self._pending is None or self._pending[0] != phase:
            return None
        _, batch = self._pending
        batch.target = copy_to_cpu(target)
        self._pending = None
        return batch

    def _add_batch(self, phase: str, batch: Batch) -> None:
        sample = self.copies.train if phase == "train" else self.copies.validation
        sample.add(batch)

    def _count_training_loss(self, rows: int) -> None:
        self._train_rows[rows] += 1
        self._train_losses_by_loader[self._current_loader] += 1

    @guarded
    def loader_started(self, loader) -> None:
        """A pass over a loader. A pass that trained on nothing is replaced by the next one:
        Keras starts the next epoch's pass before the epoch ends, and starts it again later."""
        key = _loader_key(loader)
        self._current_loader = key
        self.events_since_step = True
        starts = self._loader_starts.setdefault(key, [])
        trained = self._train_losses_by_loader[key]
        if starts and self._trained_at_start.get(key) == trained:
            starts[-1] = self.step
        else:
            starts.append(self.step)
        self._trained_at_start[key] = trained

    def _settle_data(self) -> None:
        """At the end of the run: the epochs, the batch size, and why no batch was kept."""
        self._settle_epochs()
        self._explain_missing_samples()
        self.trace.setup.batch_size = _most_common(self._train_rows)

    def _settle_epochs(self) -> None:
        counted = {k: v for k, v in self._train_losses_by_loader.items() if k is not None}
        if counted:
            train_loader = max(counted, key=counted.get)
            starts = list(self._loader_starts.get(train_loader, []))
            if len(starts) > 1 and self._trained_at_start[train_loader] == counted[train_loader]:
                starts.pop()  # a last pass that trained on nothing (Keras starts one early)
            self.trace.epoch_starts = starts

    def _explain_missing_samples(self) -> None:
        if self.trace.train_losses() and not self.copies.train.batches:
            self.trace.notes.append(
                "No training batch could be paired with its targets (the training loss was not "
                "a torch.nn loss called on the output of a model call: it was written by hand, "
                "or computed inside the model's forward), so the experiments that replay your "
                "training were skipped."
            )


def _loader_key(loader) -> tuple:
    """What a loader reads, the same for a new loader over the same split: Keras builds one
    every epoch, and so do scripts that make their DataLoader inside the epoch loop."""
    try:
        batches = len(loader)
    except TypeError:  # an IterableDataset without a length
        batches = id(loader.dataset)
    sampler = getattr(loader, "batch_sampler", None) or loader.sampler
    inner = getattr(sampler, "sampler", sampler)
    return (type(loader.dataset).__qualname__, batches, type(inner).__name__)


def current_phase() -> str:
    """"train" while gradients are on, else "eval"."""
    return "train" if torch.is_grad_enabled() else "eval"


def _most_common(counts: Counter) -> int:
    return counts.most_common(1)[0][0] if counts else 0
