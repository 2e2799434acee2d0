"""Captured batches as a flat table: a feature matrix X, a target y, and the task the loss implies.

    task = task_of(case.trace.setup.loss_name)          # "classification", "regression" or None
    train, validation = tables(train_batches, validation_batches, task)
    train.features  # (rows, columns) float64: every per-row input tensor, flattened side by side
    train.target    # classification: class index per row (int64, shape (rows,))
                    # regression: target values (float64, shape (rows, outputs))

Token ids (the inputs an embedding table is indexed by, :mod:`._looked_up`) are categories, not
amounts: they are also counted, token by token, as a bag-of-words model reads a sentence.

A batch that cannot be read this way raises Skip with what is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lossdoctor.capture.sample import Batch
from lossdoctor.checks._inputs import inputs_without_target
from lossdoctor.findings import Skip
from lossdoctor.losses import REGRESSION, loss_kind

#: Wider inputs (images, long sequences) keep this many evenly spaced columns, to stay fast.
MAX_COLUMNS = 256


@dataclass
class Table:
    features: np.ndarray
    target: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.target)

    def subset(self, rows: np.ndarray) -> Table:
        """Only the given rows."""
        return Table(self.features[rows], self.target[rows])


def task_of(loss_name: str) -> str | None:
    """"classification" or "regression" for the losses whose task is clear, else None."""
    kind = loss_kind(loss_name)
    return kind.task if kind else None


class RaggedInputs(Skip):
    """Batches whose inputs differ in width (sequences padded to each batch's longest)."""


def tables(
    train: list[Batch], validation: list[Batch], task: str, max_columns: int = MAX_COLUMNS,
    looked_up: frozenset[tuple] = frozenset(),
) -> tuple[Table, Table]:
    """Training and validation batches as tables with the same (at most ``max_columns``)
    columns. Token sequences of varying lengths are read as counts of each token; those of
    one length that the model looks up (``looked_up``: their paths, :mod:`._looked_up`) keep
    their columns and get those counts beside them."""
    try:
        train_table, validation_table = table(train, task), table(validation, task)
        if train_table.features.shape[1] != validation_table.features.shape[1]:
            raise RaggedInputs("needs training and validation inputs of the same size per row")
    except RaggedInputs as ragged:
        return _counted_tables(train, validation, task, max_columns, looked_up, ragged)
    keep = _evenly_spaced(train_table.features.shape[1], max_columns)
    train_table.features = train_table.features[:, keep]
    validation_table.features = validation_table.features[:, keep]
    return _with_token_counts(train_table, validation_table, train, validation, max_columns,
                              looked_up)


def _counted_tables(train: list[Batch], validation: list[Batch], task: str, max_columns: int,
                    looked_up: frozenset[tuple], ragged: RaggedInputs) -> tuple[Table, Table]:
    """Ragged batches as tables, their token sequences counted token by token (``ragged``
    raised again when none is)."""
    widths = token_widths(train + validation, max_columns, looked_up)
    if not widths:
        raise ragged
    padding = padding_ids(train + validation, widths)
    train_table, validation_table = (table(batches, task, widths, padding)
                                     for batches in (train, validation))
    if train_table.features.shape[1] != validation_table.features.shape[1]:
        raise Skip("needs training and validation inputs of the same size per row")
    keep = _evenly_spaced(train_table.features.shape[1], max_columns)
    train_table.features = train_table.features[:, keep]
    validation_table.features = validation_table.features[:, keep]
    return train_table, validation_table


def _with_token_counts(train_table: Table, validation_table: Table, train: list[Batch],
                       validation: list[Batch], max_columns: int,
                       looked_up: frozenset[tuple]) -> tuple[Table, Table]:
    """The tables with the counts of each looked-up token input appended. The ids' own
    columns stay: a sequence of one length lines its positions up, and trees split a
    position's column into its ids (which word comes first); counted, a word is one column
    wherever it stands (which words the text holds), where as a position's number it is
    noise (dev, /tmp/s31-tokens: 5 marker words among 60 ids of a 1200-word vocabulary, log
    loss 1.10 on the ids' columns alone, 0.43 with the counts, for 1.10 guessed)."""
    widths = {name: width for name, width in token_widths(train + validation, max_columns,
                                                          looked_up).items()
              if name in looked_up}
    if not widths:
        return train_table, validation_table
    padding = padding_ids(train + validation, widths)
    counted = [[_counted_inputs(b, widths, padding) for b in batches]
               for batches in (train, validation)]
    if any(counts is None for side in counted for counts in side):
        return train_table, validation_table
    train_table.features, validation_table.features = (
        np.hstack([t.features, np.concatenate(side)])
        for t, side in zip((train_table, validation_table), counted, strict=True))
    return train_table, validation_table


def _counted_inputs(batch: Batch, widths: dict[tuple, int],
                    padding: dict[tuple, int]) -> np.ndarray | None:
    """The batch's counts of each input in ``widths``; None when it lacks one of them."""
    inputs = dict(_row_inputs(batch))
    if any(name not in inputs for name in widths):
        return None
    return np.concatenate([_token_counts(inputs[name], width, padding.get(name))
                           for name, width in widths.items()], axis=1)


def table(batches: list[Batch], task: str, token_widths: dict[str, int] | None = None,
          padding: dict[str, int] | None = None) -> Table:
    """One table from batches that pair inputs with targets; the token sequences named in
    ``token_widths`` are counted token by token (see :func:`token_widths`), their ``padding``
    id left out."""
    if not batches:
        raise Skip("needs batches paired with their targets")
    features = [_scored(b, _features(b, token_widths or {}, padding or {})) for b in batches]
    if len({f.shape[1] for f in features}) > 1:
        raise RaggedInputs("needs inputs of the same size in every batch (flat features per row)")
    targets = [_scored(b, _target(b, task)) for b in batches]
    if len({t.shape[1:] for t in targets}) > 1:
        raise Skip("needs one target per example, or targets of one size in every batch: "
                   "yours differ in length from batch to batch (a sequence's tokens)")
    return Table(np.concatenate(features), np.concatenate(targets))


def _features(batch: Batch, token_widths: dict[str, int],
              padding: dict[str, int]) -> np.ndarray:
    columns = [
        _token_counts(t, token_widths[name], padding.get(name)) if name in token_widths
        else t.detach().reshape(batch.rows, -1).double().numpy()
        for name, t in _row_inputs(batch)
    ]
    if not columns:
        raise Skip("needs model inputs given as tensors with one row per example")
    return finite(np.concatenate(columns, axis=1))


def _scored(batch: Batch, rows: np.ndarray) -> np.ndarray:
    """The rows the loss scored (a graph's training or validation nodes), else every row."""
    return rows if batch.selection is None else rows[batch.selection.numpy()]


def _row_inputs(batch: Batch) -> list[tuple[str, torch.Tensor]]:
    return [(name, t) for name, t in inputs_without_target(batch)  # a dict batch has its target
            if t.dim() > 0 and t.shape[0] == batch.rows and not t.is_complex()
            and t.layout == torch.strided]  # a sparse adjacency has no rows to read


def token_widths(batches: list[Batch], max_columns: int = MAX_COLUMNS,
                 looked_up: frozenset[tuple] = frozenset()) -> dict[str, int]:
    """For each input that is a sequence of token ids (integers, or whole numbers the model
    looks up, ``looked_up``; one row of them per example), how many count columns it gets:
    its largest id plus one, the ids of a larger vocabulary folded onto its share of
    ``max_columns`` (id modulo the width: the hashing trick, Weinberger et al. 2009). Padded to
    each batch's longest, such sequences give rows of other widths in every batch; counted,
    "this word occurs twice" is a column wherever it occurs, as a bag-of-words model reads a
    sentence."""
    largest: dict[str, int] = {}
    for batch in batches:
        for name, t in _row_inputs(batch):
            if _token_ids(t, name in looked_up):
                largest[name] = max(largest.get(name, 0), int(t.max()))
    share = max_columns // max(len(largest), 1)
    return {name: min(top + 1, share) for name, top in largest.items()}


def _token_ids(t: torch.Tensor, looked_up: bool) -> bool:
    """A sequence of non-negative ids: integers, or whole numbers when the model looks it up
    (Keras gives its Embedding float32 ids; float pixels are whole numbers too, not ids)."""
    if t.dim() != 2 or not t.numel() or t.is_complex():
        return False
    if t.is_floating_point() and not (looked_up and torch.equal(t, t.round())):
        return False
    return bool(t.min() >= 0)


#: A token id is the padding when it ends at least this share of the rows: a batch padded to
#: its longest sequence ends every row but the longest with it (fresh20 s14: 49 of 50), while
#: a word drawn from a vocabulary ends about one row in its size. Only sequences of other
#: lengths in other batches are counted this way (the dev token bases, of one length, are not).
PADDED_SHARE = 0.5


def padding_ids(batches: list[Batch], widths: dict[str, int]) -> dict[str, int]:
    """For each counted token input, the id its rows are padded with: the id that ends at
    least PADDED_SHARE of the rows and, wherever it occurs, only as a run up to the row's end.
    Counted, padding says how long the batch's longest sequence was, not what a row holds: two
    copies of one sentence in batches padded to other lengths would differ in it."""
    pads = {}
    for name in widths:
        sequences = [t.detach().long() for b in batches for n, t in _row_inputs(b)
                     if n == name and t.dim() == 2 and t.shape[1] > 0]
        if not sequences:
            continue
        ids, counts = torch.unique(torch.cat([t[:, -1] for t in sequences]), return_counts=True)
        pad = int(ids[counts.argmax()])
        rows = sum(len(t) for t in sequences)
        if counts.max() >= PADDED_SHARE * rows and all(_only_trailing(t, pad) for t in sequences):
            pads[name] = pad
    return pads


def _only_trailing(rows: torch.Tensor, pad: int) -> bool:
    """Whether ``pad`` occurs in each row only as a run reaching the row's end."""
    is_pad = (rows == pad).int()
    return rows.shape[1] < 2 or bool((is_pad.diff(dim=1) >= 0).all())


def _token_counts(ids: torch.Tensor, width: int, pad: int | None = None) -> np.ndarray:
    """(rows, width) how often each token id (modulo ``width``) occurs in each row, the
    padding id ``pad`` left out."""
    ids = ids.detach().long()
    folded = ids % width
    counted = (ids != pad).double() if pad is not None else torch.ones_like(folded,
                                                                           dtype=torch.float64)
    counts = torch.zeros(len(ids), width, dtype=torch.float64)
    counts.scatter_add_(1, folded, counted)
    return counts.numpy()


def finite(features: np.ndarray) -> np.ndarray:
    """NaN and infinities (nan_inf's to report) read as 0: an infinity read as the largest
    float makes the learners' standardization NaN."""
    return np.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0)


def _target(batch: Batch, task: str) -> np.ndarray:
    target = batch.target
    if not isinstance(target, torch.Tensor) or target.dim() == 0 or target.shape[0] != batch.rows:
        raise Skip("needs targets given as one tensor with one row per example")
    target = target.detach().reshape(batch.rows, -1)
    if task == REGRESSION:
        values = target.double().numpy()
        if not np.isfinite(values).all():
            raise Skip("needs finite targets: some are NaN or infinite (see nan_inf)")
        return values
    return _class_indices(target)


def _class_indices(target: torch.Tensor) -> np.ndarray:
    """Class ids (n,) from ids, 0/1 labels, or per-class probabilities (soft labels)."""
    if target.shape[1] > 1 and _sums_to_one(target):
        return target.argmax(dim=1).numpy()
    if target.shape[1] > 1:
        raise Skip("needs one class label per example (not per position or multi-label)")
    labels = target[:, 0]
    if target.is_floating_point() and not torch.equal(labels, labels.round()):
        raise Skip("needs class labels (0/1 or class ids), not soft targets")
    return labels.long().numpy()


def _sums_to_one(target: torch.Tensor) -> bool:
    if not target.is_floating_point():
        return False
    return bool(torch.allclose(target.sum(dim=1), torch.ones(len(target), dtype=target.dtype)))


def _evenly_spaced(columns: int, most: int) -> np.ndarray:
    if columns <= most:
        return np.arange(columns)
    return np.unique(np.linspace(0, columns - 1, most).round().astype(int))
