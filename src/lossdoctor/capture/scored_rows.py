"""Which rows of a model call's output a loss scored, when it scored only some of them.

A model may run once over every example and have its losses taken on index subsets of that one
output: a graph network's full-graph forward, its training loss on ``output[idx_train]`` and
its validation loss, under ``no_grad`` in eval mode, on ``output[idx_val]`` of the same (or an
identical) forward. The inputs of the two forwards are the same tensors, so their content
(train_split.py) calls the validation an evaluation of the training data; the rows scored tell
it apart. They are found by value: each row of the loss's input is a row of the output.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from lossdoctor.capture.row_selection import shared_share

#: Outputs matched row by row only up to this many elements: a graph's nodes times its classes
#: (Cora: 2,708 x 7) are a few thousand; a language model's logits (millions) are not indexed
#: by rows this way, and hashing them at every step would cost more than the step's bookkeeping.
MAX_MATCHED_ELEMENTS = 2**20
#: An evaluation shares at most this part of its scored rows with the rows the training losses
#: scored of outputs of the same size, to be another split's: disjoint index sets (a graph's
#: idx_train and idx_val) share none, an estimate of the training split (``output[idx_train]``
#: under no_grad) all of them; half is the plain middle of the two, for index sets that
#: overlap by a few rows by mistake.
OTHER_ROWS_SHARE = 0.5
#: Odd multipliers of a row's hash, one per element position (repeated for wider rows).
_MULTIPLIERS = torch.tensor([0x9E3779B97F4A7C15 - 2**64, 0x632BE59BD9B4E019, 0x7FB5D329728EA185,
                             0x3C6EF372FE94F82B, 0x27BB2EE687B0B0FD, 0x5851F42D4C957F2D,
                             0x14057B7EF767814F, 0x1B03738712FAD5C9], dtype=torch.int64)


class ScoredRows(NamedTuple):
    """The rows of an output of ``of`` rows that a loss scored."""

    of: int
    rows: frozenset


def scored_rows(prediction, outputs) -> ScoredRows | None:
    """The rows of one of ``outputs`` (weak references to the last model call's output
    tensors) that ``prediction`` holds, when it holds fewer rows than that output and every one
    of its rows is one of the output's; else None (the whole output, a reshape of it, or
    something computed from it)."""
    if not isinstance(prediction, torch.Tensor) or prediction.dim() == 0:
        return None
    for ref in outputs:
        output = ref()
        if isinstance(output, torch.Tensor) and _a_part_of(prediction, output):
            rows = _rows_within(prediction, output)
            if rows is not None:
                return ScoredRows(int(output.shape[0]), rows)
    return None


def _a_part_of(prediction: torch.Tensor, output: torch.Tensor) -> bool:
    return (prediction.dim() == output.dim() and prediction.shape[0] < output.shape[0]
            and prediction.shape[1:] == output.shape[1:] and prediction.dtype == output.dtype
            and 0 < output.numel() <= MAX_MATCHED_ELEMENTS)


def _rows_within(prediction: torch.Tensor, output: torch.Tensor) -> frozenset | None:
    """The output's rows that the prediction holds, among those whose values no other output
    row has: rows alike (isolated nodes, outputs saturated alike) cannot say which of them a
    loss took, and counting them all put 531 of 600 nodes among a graph's 140 trained."""
    output_keys, prediction_keys = row_keys(output), row_keys(prediction)
    if not bool(torch.isin(prediction_keys, output_keys).all()):
        return None
    keys, counts = torch.unique(output_keys, return_counts=True)
    single = torch.isin(output_keys, keys[counts == 1])
    taken = single & torch.isin(output_keys, prediction_keys)
    return frozenset(torch.nonzero(taken).flatten().tolist())


def row_keys(tensor: torch.Tensor) -> torch.Tensor:
    """A hash of each row's values (their bits), one int64 per row."""
    rows = tensor.detach().to("cpu").reshape(tensor.shape[0], -1)
    if rows.is_floating_point():
        values = rows.to(torch.float64).contiguous().view(torch.int64)
    else:
        values = rows.to(torch.int64)
    values = values ^ (values >> 33)
    values = values * (0xFF51AFD7ED558CCD - 2**64)  # splitmix64's finalizer
    values = values ^ (values >> 33)
    width = values.shape[1]
    weights = _MULTIPLIERS.repeat((width + len(_MULTIPLIERS) - 1) // len(_MULTIPLIERS))[:width]
    weights = weights + 2 * torch.arange(width, dtype=torch.int64)  # odd, distinct per place
    return (values * weights).sum(1)


def other_rows(scored: ScoredRows | None, trained: dict[int, set]) -> bool:
    """Whether an evaluation scored rows the training losses did not score, of outputs of the
    same size (``trained``: output rows -> the rows the training losses scored): at most
    OTHER_ROWS_SHARE of its rows among them."""
    if scored is None or not scored.rows or not trained.get(scored.of):
        return False
    shared = len(scored.rows & trained[scored.of]) / len(scored.rows)
    return shared <= OTHER_ROWS_SHARE


def other_selection(selection, trained: list) -> bool:
    """Whether a kept evaluation batch scored a selection of its rows (row_selection.py) that
    shares at most OTHER_ROWS_SHARE of them with the selections training scored: a graph's
    validation nodes, kept beside the training batch of the same inputs."""
    if selection is None or not trained:
        return False
    return shared_share(selection, trained) <= OTHER_ROWS_SHARE
