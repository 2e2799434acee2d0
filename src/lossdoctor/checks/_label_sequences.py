"""Label sequences (CTC's targets) reduced to one label per row, for no_signal's learners.

A CTC loss scores each input sequence against a sequence of labels of its own length, aligned
by the loss, not position by position; no learner here predicts such a sequence, and the
sequences have no constant guess in closed form. What any sequence model that reads its input
must learn, though, is which labels a row's sequence holds: a word's letters, an utterance's
phones. So each row's target becomes one binary label, whether its sequence holds the label
that is present in closest to half of the training rows (the most informative such question;
the next two are asked too), and the learners of :mod:`._contest` are asked that. Labels
shuffled across rows (or sequences unrelated to their inputs) leave it unpredictable; labels
read from the input do not.
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
#: Labels whose presence is asked, each a contest of its own, their p-values Bonferroni-
#: corrected: the label closest to half the rows alone came near missing on a development twin
#: whose labels are directions in the input (docs/devset.md, session 33: ctchard 423004,
#: p = 0.013 for it, 2.7e-9 for the third asked); three keep the contests' time (a second or
#: two each on 600 rows) near what a tabular run's take.
ASKED_LABELS = 3


def label_sequence_loss(loss_name: str) -> bool:
    return loss_name in SEQUENCE_LOSSES


def asked_labels(batches: list[Batch], blank: int = DEFAULT_BLANK) -> list[int]:
    """The ASKED_LABELS labels present in the shares of the batches' rows closest to one half
    (the most informative questions first); Skip when the sequences cannot be read per row."""
    label_sets = [row for batch in batches for row in _label_sets(batch, blank)]
    labels = sorted(set().union(*label_sets))
    if not labels:
        raise Skip("needs label sequences that hold labels other than the blank")
    shares = np.array([np.mean([label in row for row in label_sets]) for label in labels])
    order = np.argsort(np.abs(shares - 0.5), kind="stable")
    return [labels[i] for i in order[:ASKED_LABELS]]


def presence_batches(batches: list[Batch], label: int,
                     blank: int = DEFAULT_BLANK) -> list[Batch]:
    """The batches with each row's target replaced by 1 when its label sequence holds
    ``label``, else 0."""
    return [replace(batch, target=torch.tensor([int(label in row)
                                                for row in _label_sets(batch, blank)]))
            for batch in batches]


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
