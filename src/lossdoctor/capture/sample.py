"""A bounded, representative sample of the batches a run saw, without repeated rows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch

from lossdoctor.capture import row_values
from lossdoctor.capture.tensors import dense_tensors_in, take_rows, tensors_in

#: Bytes each sample (training, validation) may hold. 64 MiB keeps the 4,096 rows whole for rows
#: up to 16 KiB (a 32x32 colour image in float32 is 12 KiB), and bounds larger ones: with rows
#: of 64 KiB the two samples held 822 MB, the plain run's peak was 333 MB (issue 12).
MAX_SAMPLE_BYTES = 64 * 2**20


@dataclass
class Batch:
    """Detached CPU copies of one batch: the model's positional and keyword inputs, the target."""

    args: tuple
    kwargs: dict
    target: Any
    rows: int
    keys: list[int] = field(default_factory=list, repr=False)  # one fingerprint per row
    step: int = 0  # the optimizer steps the run had taken when the batch was kept
    drawn_from: tuple | None = None  # the dataset a loader drew it from (data_events.DatasetOf)
    #: The rows the loss scored, as an index, when it scored a selection of them (a graph's
    #: ``out[train_mask]``: capture/row_selection.py); None: every row.
    selection: torch.Tensor | None = None
    #: The lists of numbers, one per row, the batch's loss was given (CTC's lengths), by
    #: where (capture/row_values.py); empty when none were, or the batch was made anew.
    row_values: dict = field(default_factory=dict, repr=False)

    @property
    def scored_rows(self) -> int:
        """The rows the loss scores: the selected ones, else every row."""
        return self.rows if self.selection is None else int(self.selection.numel())


def row_major(batch: Batch) -> bool:
    """Every tensor of the batch with dimensions has the batch's rows as its first size (not
    an LSTM's hidden state, nor sequence-first inputs): its rows can be cut apart. Not a batch
    scored on a selection of its rows (a graph's nodes, which the forward joins)."""
    return batch.selection is None and all(t.dim() == 0 or t.shape[0] == batch.rows
               for t in tensors_in((batch.args, batch.kwargs, batch.target)))


@dataclass
class BatchSample:
    """Reservoir sampling over batches, bounded by rows and bytes, each distinct row held once.

    Keeps every batch until ``max_rows`` rows are held (fewer when that many rows of the first
    batch's size would pass ``max_bytes``), then replaces held batches at random so
    every batch seen has the same chance to be held. A batch whose rows are all held already
    means the data has been seen in full (a second epoch) once EPOCH_REPEATED_ROWS such rows
    come in a row: from then on nothing is copied.
    Uses its own RNG: the run's are untouched.
    """

    max_rows: int = 4096
    max_bytes: int = MAX_SAMPLE_BYTES
    batches: list[Batch] = field(default_factory=list)
    rows_seen: int = 0
    complete: bool = False
    first_batch_bytes: int = 0  # the first batch's bytes, which set the rows bytes allow
    repeated_rows: int = 0  # rows of the batches since the last fresh row, all held already
    _keys: set[int] = field(default_factory=set, repr=False)
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)
    #: The batches list the rows were counted on, its length then, and the count.
    _counted: tuple[list, int, int] | None = field(default=None, repr=False, compare=False)

    @property
    def rows(self) -> int:
        """The rows held, counted again only when the list of batches was replaced or resized
        outside add() (a filter): a loop of one-row batches (a seq2seq's pairs) holds
        thousands, and counting them at every batch offered grew each step's cost."""
        batches, counted = self.batches, self._counted
        if counted is None or counted[0] is not batches or counted[1] != len(batches):
            counted = self._counted = (batches, len(batches), sum(b.rows for b in batches))
        return counted[2]

    def wants(self, rows: int) -> bool:
        """Whether the next batch, of ``rows`` rows, should be copied. The first one offered
        always is, whatever its size (add() keeps at most ``max_rows`` of its rows): a split
        evaluated in one call (``model(X_val)``) is often the only batch there is, and past
        ``max_rows`` rows it was kept by chance (a third of the time at 6,138 rows)."""
        if self.complete:
            return False
        first = self.rows_seen == 0
        self.rows_seen += rows
        if first or self.rows + rows <= self.max_rows:
            return True
        return self._rng.random() < self.max_rows / max(self.rows_seen, 1)

    def add(self, batch: Batch) -> None:
        batch = self._fresh_rows(batch)
        if batch is None:
            return
        if not self.batches and not self.first_batch_bytes:
            self.first_batch_bytes = _bytes(batch)
            row_bytes = max(self.first_batch_bytes // max(batch.rows, 1), 1)
            self.max_rows = max(1, min(self.max_rows, self.max_bytes // row_bytes))
        batch = self._at_most_max_rows(batch)
        rows = self.rows
        if self.batches and rows + batch.rows > self.max_rows:
            dropped = self.batches.pop(self._rng.randrange(len(self.batches)))
            self._keys.difference_update(dropped.keys)
            rows -= dropped.rows
        self.batches.append(batch)
        self._keys.update(batch.keys)
        self._counted = (self.batches, len(self.batches), rows + batch.rows)

    def _at_most_max_rows(self, batch: Batch) -> Batch:
        """``max_rows`` of the batch's rows, drawn at random (a split may be in label order).
        The rows left out count as seen: the split evaluated again brings no fresh row, and
        the sample is complete, as after an epoch of batches."""
        if batch.rows <= self.max_rows or _kept_whole(batch):
            return batch
        kept = sorted(self._rng.sample(range(batch.rows), self.max_rows))
        self._keys.update(batch.keys)
        return _rows_of(batch, kept)

    def _fresh_rows(self, batch: Batch) -> Batch | None:
        keys = row_keys(batch)
        fresh = [i for i, key in enumerate(keys) if key not in self._keys]
        if not fresh:
            self.repeated_rows += batch.rows
            self.complete = self.repeated_rows >= EPOCH_REPEATED_ROWS
            return None
        self.repeated_rows = 0
        if len(fresh) < batch.rows and _kept_whole(batch):
            fresh = list(range(batch.rows))  # rows that cannot be cut apart: all or nothing
        elif len(fresh) < min(MIN_CUT_ROWS, batch.rows):
            return None  # not a batch a replay can train on
        elif len(fresh) < batch.rows:
            batch = _rows_of(batch, fresh)
        batch.keys = [keys[i] for i in fresh]
        return batch


def _rows_of(batch: Batch, index: list[int]) -> Batch:
    taken = Batch(take_rows(batch.args, index, batch.rows), take_rows(batch.kwargs, index,
                                                                       batch.rows),
                  take_rows(batch.target, index, batch.rows), len(index), step=batch.step,
                  row_values=row_values.taken(batch.row_values, index))
    if batch.keys:
        taken.keys = [batch.keys[i] for i in index]
    return taken


#: Rows of batches held already, with no fresh row between them, that mark the data seen in
#: full (a second epoch): one batch of 8 rows or more, as a whole repeated batch always did.
#: One-row batches of data that repeats rows (a few categorical features) repeat one row at a
#: time between fresh ones in the first epoch: a single repeat had ended fresh26 s11's sample at
#: 18 of its 735 rows (at most 90 distinct), and every replay trained on 15 of them.
EPOCH_REPEATED_ROWS = 8
#: The fewest fresh rows a batch is cut down to: BatchNorm in training mode needs two rows
#: (one row has no variance), and a batch of one is none the script trained on when it drops
#: its last partial batch (tabular_kfold: the second fold's shuffled batches held 0-13 rows
#: the first fold had not shown, and every replay failed on a batch of one).
MIN_CUT_ROWS = 2


def _kept_whole(batch: Batch) -> bool:
    """Rows that cannot be cut apart: targets that are no rows, or tensors that do not all
    lead with the batch's rows (sequence-first inputs)."""
    return _whole(batch) or not row_major(batch)


def _whole(batch: Batch) -> bool:
    """A batch whose target has no rows to take (loss_callable.LossArguments), or whose
    target is its rows' positions (an in-batch loss: replay_losses.in_batch_targets), which
    rows taken apart would no longer be."""
    return getattr(batch.target, "rows", None) == batch.rows or positions(batch.target,
                                                                          batch.rows)


def positions(target, rows: int) -> bool:
    """Whether ``target`` is 0, 1, ..., rows - 1: each row's own place in its batch."""
    return (isinstance(target, torch.Tensor) and target.dim() == 1 and rows > 1
            and target.shape[0] == rows and not target.is_floating_point()
            and bool(torch.equal(target, torch.arange(rows, dtype=target.dtype))))


def _bytes(batch: Batch) -> int:
    return sum(t.nelement() * t.element_size()
               for t in tensors_in((batch.args, batch.kwargs, batch.target)))


def row_keys(batch: Batch) -> list[int]:
    """A fingerprint of each row: its inputs and target, byte for byte."""
    rowwise = [
        t.reshape(batch.rows, -1).numpy()
        for t in dense_tensors_in((batch.args, batch.kwargs, batch.target))
        if t.dim() > 0 and t.shape[0] == batch.rows
    ]
    return [hash(tuple(array[i].tobytes() for array in rowwise)) for i in range(batch.rows)]
