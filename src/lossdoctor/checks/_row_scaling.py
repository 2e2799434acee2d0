"""How a loss's value grows with the rows it is computed on: a mean over rows stays the same on
half a batch, a sum over rows halves. Read from the loss recomputed on a batch and on its first
half, so that a hand-written loss's reduction is known without reading its code."""

from __future__ import annotations

from collections.abc import Callable

from lossdoctor.capture import row_values
from lossdoctor.capture.sample import Batch, row_major
from lossdoctor.capture.tensors import take_rows

#: The fewest rows a batch needs to be cut in two: halves of one row each leave a loss that
#: normalizes within its batch (a softmax over the batch) nothing to compare.
MIN_ROWS = 4


def sums_over_rows(score: Callable[[Batch], float], batches: list[Batch]) -> bool | None:
    """Whether ``score`` (a loss recomputed on a batch) adds its rows up rather than averaging
    them, read on the largest batch cut into two equal halves: a sum over the whole is the sum
    of the halves' values, a mean their mean, exactly for a loss computed row by row (so no
    threshold: the nearer wins). None when no batch can be cut (fewer than MIN_ROWS rows, rows
    not leading), or the halves' values add up to nothing."""
    cuttable = [b for b in batches if b.rows >= MIN_ROWS and row_major(b)]
    if not cuttable:
        return None
    batch = max(cuttable, key=lambda b: b.rows)
    half = batch.rows // 2
    whole = score(rows_of(batch, range(2 * half)))
    halves = score(rows_of(batch, range(half))) + score(rows_of(batch, range(half, 2 * half)))
    if halves == 0:
        return None
    return abs(whole - halves) < abs(whole - halves / 2)


def rows_of(batch: Batch, rows: range) -> Batch:
    """The batch's rows in ``rows``."""
    index = list(rows)
    return Batch(*(take_rows(part, index, batch.rows)
                   for part in (batch.args, batch.kwargs, batch.target)),
                 len(index), [batch.keys[i] for i in index if i < len(batch.keys)], batch.step,
                 row_values=row_values.taken(batch.row_values, index))
