"""Training inputs that came back with another label in a later epoch.

A pipeline that pairs inputs and labels afresh each epoch (x and y shuffled by two separate
calls, a ``__getitem__`` that takes its label from a list indexed apart from the inputs:
bench/projects6's dl-4-tsc generator, keras-team/keras#222) feeds batches whose labels are noise
relative to their inputs, which no_signal's learners read as labels without signal. What tells
it from noisy labels on disk is in the batches: the same input comes back in the next epoch with
a label drawn afresh, where a dataset's own pairs come back as they were.

The training sample (capture/sample.py) keeps each distinct (inputs, target) row once, and keeps
taking rows after the first pass when the pairs change: a healthy loader's later passes bring
none it lacks. So the sample holds the same input under two labels only when the dataset holds
two such rows, or when the pairing changed between epochs. Rows are matched on their inputs byte
for byte: an augmentation that changes the inputs each epoch leaves nothing to match (the reading
then says nothing).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from lossdoctor.capture.sample import Batch, row_major
from lossdoctor.capture.tensors import tensors_in


@dataclass
class Relabelled:
    """Inputs the sample holds from two epochs or more (``repeated``), of them those whose label
    differs between epochs (``relabelled``), the share of such differences a fresh random
    pairing gives (``chance``: 1 - the sum of the squared label shares), and one example."""

    repeated: int
    relabelled: int
    chance: float
    example: tuple[int, int, int, int] | None  # (epoch, label, later epoch, other label)

    @property
    def share(self) -> float:
        return self.relabelled / self.repeated if self.repeated else 0.0


def relabelled_inputs(batches: list[Batch], epoch_of) -> Relabelled | None:
    """The sample's inputs seen in two epochs or more and how many changed label; None when
    the batches carry no class labels by row. ``epoch_of(step)``: the epoch of an optimizer
    step."""
    seen: dict[int, list[tuple[int, int]]] = defaultdict(list)
    labels_held = []
    for batch in batches:
        labels = class_labels(batch)
        if labels is None:
            continue
        epoch = epoch_of(batch.step)
        for key, label in zip(input_keys(batch), labels, strict=True):
            seen[key].append((epoch, int(label)))
        labels_held.append(labels)
    if not labels_held:
        return None
    repeated = relabelled = 0
    example = None
    for sightings in seen.values():
        if len({epoch for epoch, _ in sightings}) < 2:
            continue
        repeated += 1
        changed = _changed(sorted(sightings))
        if changed is not None:
            relabelled += 1
            example = example or changed
    return Relabelled(repeated, relabelled, _chance(np.concatenate(labels_held)), example)


def _changed(sightings: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """The first two sightings in different epochs with different labels, if any."""
    for first_epoch, first in sightings:
        for epoch, label in sightings:
            if epoch > first_epoch and label != first:
                return first_epoch, first, epoch, label
    return None


def _chance(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    shares = counts / counts.sum()
    return float(1.0 - (shares ** 2).sum())


def class_labels(batch: Batch) -> np.ndarray | None:
    """One class id per row: integer targets of one value a row, or one-hot / probability rows
    (their largest entry); None for other targets (regression values, sequences of labels)."""
    target = batch.target
    if not isinstance(target, torch.Tensor) or target.dim() == 0 or target.shape[0] != batch.rows:
        return None
    if not row_major(batch):
        return None
    flat = target.reshape(batch.rows, -1)
    if flat.shape[1] == 1 and (not flat.is_floating_point()
                               or bool(torch.equal(flat, flat.round()))):
        return flat[:, 0].long().numpy()
    if flat.shape[1] > 1 and flat.is_floating_point() and bool(((flat >= 0) & (flat <= 1)).all()):
        return flat.argmax(dim=1).numpy()
    return None


def input_keys(batch: Batch) -> list[int]:
    """A fingerprint of each row's inputs alone (capture.sample.row_keys without the target)."""
    rowwise = [t.reshape(batch.rows, -1).numpy()
               for t in tensors_in((batch.args, batch.kwargs))
               if t.dim() > 0 and t.shape[0] == batch.rows]
    return [hash(tuple(array[i].tobytes() for array in rowwise)) for i in range(batch.rows)]
