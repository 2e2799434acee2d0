"""Training rows cut into batches of another size, and replays on them: the batch size's fix
(batch_size) and, for a short run, the same rows in more steps at the user's own rate
(learning_rate), measured the same way."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch

from lossdoctor.capture import row_values
from lossdoctor.capture.sample import Batch, row_major
from lossdoctor.capture.tensors import take_rows
from lossdoctor.checks._examples import EXAMPLES_FIRST, example_axis
from lossdoctor.experiments import Plan, ReplayResult
from lossdoctor.findings import Skip

#: The smallest batch ever suggested or split into: below it, per-step overhead dominates on
#: any hardware.
SMALLEST_BATCH = 8


def user_batch_size(trace, replayer) -> int:
    """The run's batch size: as the loss saw it, else as the captured batches hold it (a loss
    written by hand reports no rows: dev full_batch 80022, 2,156 rows in one batch)."""
    if trace.setup.batch_size > 0:
        return trace.setup.batch_size
    return max((b.rows for b in replayer.train_batches), default=0)


def replay_rebatched(replayer, pool: Batch, batch: int, lr: float, rows: int, cap: int,
                     user_batch: int) -> ReplayResult:
    """``rows`` training rows in batches of ``batch``, at most ``cap`` steps: a smaller batch
    than the user's may see fewer rows than the user's run, never more. Cut for the budget by
    what its steps cost (:func:`cost_fraction`), not by the user's step."""
    steps = min(max(rows // batch, 1), cap)
    rebatched = copy.copy(replayer)
    rebatched.step_fraction = cost_fraction(replayer.step_fraction, batch, user_batch)
    rebatched.train_batches = rebatch(pool, batch)
    if not rebatched.train_batches:
        raise Skip(f"needs at least {batch} kept training rows to replay batches of {batch}: "
                   f"{pool.rows} were kept")
    return rebatched.replay(Plan(lr=lr, steps=steps, evaluations=min(10, steps)))


def cost_fraction(fraction: float, batch: int, user_batch: int) -> float:
    """The budget's step fraction (budget.step_fraction, set from the time of one step at the
    user's batch) for steps of ``batch`` rows: a step's work grows with its rows, so a smaller
    batch's step costs about batch / user_batch of the user's, and as many more of them fit.
    Cut like the user's steps, the smaller batch's replay saw a sixth of the rows of the run it
    was compared with (two_batches_per_epoch dev 60003: a GRU, 16 steps of 524 rows; the
    replay at batches of 26 was cut from 300 to 52 steps, 1,352 rows against 8,384, and lost
    0.598 to 0.496). A larger batch's steps cost more: the user's fraction is kept for it, as
    the budget's estimate errs by less than the STEP_SHARE kept aside."""
    if fraction >= 1.0 or batch >= user_batch:
        return fraction
    return min(1.0, fraction * user_batch / batch)


def rebatch(pool: Batch, size: int) -> list[Batch]:
    """The pooled rows cut into batches of ``size`` rows (the last partial one dropped)."""
    return [batch_rows(pool, range(start, start + size))
            for start in range(0, pool.rows - size + 1, size)]


def batch_rows(pool: Batch, index: range) -> Batch:
    rows = list(index)
    return Batch(take_rows(pool.args, rows, pool.rows), take_rows(pool.kwargs, rows, pool.rows),
                 take_rows(pool.target, rows, pool.rows), len(rows),
                 row_values=row_values.taken(pool.row_values, rows))


def pooled_training(case) -> Batch:
    """The run's kept training batches as one batch (:func:`pooled`); Skip when their examples
    are not their rows (time-major sequence batches, ``(T, B, ...)``: cut by rows, their time
    steps became batches, and the replays took most of fresh26 s06's diagnosis)."""
    if example_axis(case) != EXAMPLES_FIRST:
        raise Skip("needs batches whose first dimension holds the examples: yours hold time "
                   "steps first (sequence-first batches), which cannot be cut into batches of "
                   "other sizes")
    return pooled(case.replayer.train_batches)


def pooled(batches: list[Batch]) -> Batch:
    """All rows of the batches as one batch; Skip when the batches cannot be joined: some
    tensor in them is not one row per example (an LSTM's hidden state, sequence-first inputs)."""
    if not all(row_major(b) for b in batches):
        raise Skip("needs batches whose tensors all hold one row per example: the model is "
                   "also given tensors of another first size (a hidden state, or "
                   "sequence-first inputs), which cannot be cut into batches of other sizes")
    try:
        return Batch(_joined([b.args for b in batches]), _joined([b.kwargs for b in batches]),
                     _joined([b.target for b in batches]), sum(b.rows for b in batches),
                     row_values=row_values.joined([b.row_values for b in batches]))
    except (RuntimeError, TypeError, ValueError):
        raise Skip("needs batches of tensors that can be joined row by row") from None


def _joined(values: list):
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(values) if first.dim() > 0 else first
    if isinstance(first, Mapping):
        return {key: _joined([v[key] for v in values]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_joined(list(parts)) for parts in zip(*values, strict=True))
    return first
