"""Label sequences (CTC's targets) reduced to one label per row, for no_signal's learners.

A CTC loss scores each input sequence against a sequence of labels of its own length, aligned
by the loss, not position by position; no learner here predicts such a sequence, and the
sequences have no constant guess in closed form. What any sequence model that reads its input
must learn, though, is which labels a row's sequence holds: a word's letters, an utterance's
phones. So each row's target becomes one binary label, whether its sequence holds the label
that is present in closest to half of the training rows (the most informative such question),
and the learners of :mod:`._contest` are asked that. Labels shuffled across rows (or sequences
unrelated to their inputs) leave it unpredictable; labels read from the input do not.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from lossdoctor.capture.sample import Batch
from lossdoctor.findings import Skip

#: The losses whose targets are label sequences of their own length per row.
SEQUENCE_LOSSES = frozenset({"CTCLoss", "ctc_loss"})
#: CTC's blank label when the loss does not name one (PyTorch's default): never a target.
DEFAULT_BLANK = 0


def label_sequence_loss(loss_name: str) -> bool:
    return loss_name in SEQUENCE_LOSSES


def presence_batches(train: list[Batch], validation: list[Batch],
                     blank: int = DEFAULT_BLANK) -> tuple[list[Batch], list[Batch], int]:
    """The batches with each row's target replaced by 1 when its label sequence holds the
    chosen label, else 0; and that label (Skip when the sequences cannot be read per row)."""
    train_sets = [_label_sets(b, blank) for b in train]
    validation_sets = [_label_sets(b, blank) for b in validation]
    label = _most_informative(sum(train_sets, []))
    return (_with_presence(train, train_sets, label),
            _with_presence(validation, validation_sets, label), label)


def _label_sets(batch: Batch, blank: int) -> list[set[int]]:
    """Each row's labels, from targets padded to one width per batch (N, S) or concatenated
    (one dimension, split by the per-row list of lengths that sums to their count)."""
    target = batch.target
    if not torch.is_tensor(target) or target.dtype.is_floating_point:
        raise Skip("needs label sequences as a tensor of class indices")
    if target.dim() == 2 and target.shape[0] == batch.rows:
        rows = target.tolist()
    elif target.dim() == 1:
        rows = _split(target, batch)
    else:
        raise Skip("needs label sequences padded to a row each, or concatenated with lengths")
    return [{v for v in row if v >= 0 and v != blank} for row in rows]


def _split(target: torch.Tensor, batch: Batch) -> list[list[int]]:
    """A concatenated target cut at the lengths its loss was given one per row."""
    for lengths in batch.row_values.values():
        if all(isinstance(n, int) for n in lengths) and sum(lengths) == target.numel():
            return [part.tolist() for part in torch.split(target, list(lengths))]
    raise Skip("needs the target lengths of each batch to split its concatenated labels")


def _most_informative(label_sets: list[set[int]]) -> int:
    """The label present in the share of rows closest to one half."""
    labels = sorted(set().union(*label_sets))
    if not labels:
        raise Skip("needs label sequences that hold labels other than the blank")
    shares = np.array([np.mean([label in row for row in label_sets]) for label in labels])
    return labels[int(np.argmin(np.abs(shares - 0.5)))]


def _with_presence(batches: list[Batch], label_sets: list[list[set[int]]],
                   label: int) -> list[Batch]:
    return [replace(batch, target=torch.tensor([int(label in row) for row in rows]))
            for batch, rows in zip(batches, label_sets, strict=True)]
