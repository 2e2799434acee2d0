"""A run that blew up: its finite training loss grew before it turned NaN or infinite.

NaN or inf reached by blowing up (too high a learning rate, exploding gradients) can reach what
the model is fed when a state or output is carried from step to step. Such rows are what the
blow-up left, not the user's data: replays train without them, so that an experiment on a copy
(a lower learning rate, clipped gradients) is not poisoned by values its own fix would never
have produced. So are the rows kept once the loss had begun to grow: a state fed back may be
finite but already far off scale."""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from lossdoctor.capture.copies import Copies
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import take_rows, tensors_in

#: The training loss "grew first" (the rule ``nan_after_growth``) when the mean of its last
#: finite steps before the first NaN/inf is at least this many times the mean of its first
#: steps: NaN or inf that a run reaches by blowing up (too high a learning rate, exploding
#: gradients, a state fed back into the model) follow a loss that multiplied, while a bad row in
#: the data turns a batch NaN wherever the loss stood. Doubling is beyond a learning run's
#: minibatch noise between its first and its last steps (its loss falls); it is no measured
#: boundary: the blow-ups of the dev cases grow by orders of magnitude.
GROWTH = 2.0
#: Finite steps averaged at either end of that comparison, against one batch's noise.
GROWTH_WINDOW = 3


def first_nonfinite_step(losses: list[tuple[int, float]]) -> int | None:
    return next((step for step, loss in losses if not math.isfinite(loss)), None)


def grew_before(losses: list[tuple[int, float]], first_bad: int) -> bool:
    """``nan_after_growth``: whether the finite training loss grew GROWTH-fold before step
    ``first_bad``. NaN/inf so reached are a consequence of the growth, never a root cause even
    when they reach what the model is fed (a state carried from step to step): the causes that
    blow training up (declaring that they explain nan_inf) are ranked first."""
    before = [loss for step, loss in losses if step < first_bad and math.isfinite(loss)]
    window = min(GROWTH_WINDOW, len(before) // 2)
    if window == 0:
        return False
    start, end = before[:window], before[-window:]
    return sum(end) / window >= GROWTH * sum(start) / window > 0


def blow_up_start(losses: list[tuple[int, float]]) -> int | None:
    """The step from which a run that blew up had its loss GROWTH times its start (None when
    the run did not blow up): rows kept from then on may hold what the growth fed back."""
    first = first_nonfinite_step(losses)
    if first is None or not grew_before(losses, first):
        return None
    head = [loss for _, loss in losses if math.isfinite(loss)][:GROWTH_WINDOW]
    start = sum(head) / len(head)
    return next(step for step, loss in losses
                if not math.isfinite(loss) or loss >= GROWTH * start)


def finite_rows(batch: Batch) -> Batch:
    """The batch without its rows that hold NaN or inf anywhere."""
    tensors = [t for t in tensors_in((batch.args, batch.kwargs, batch.target))
               if t.dim() > 0 and t.shape[0] == batch.rows and t.is_floating_point()]
    keep = torch.ones(batch.rows, dtype=torch.bool)
    for tensor in tensors:
        keep &= torch.isfinite(tensor).reshape(batch.rows, -1).all(dim=1)
    index = keep.nonzero().flatten().tolist()
    if len(index) == batch.rows:
        return batch
    parts = [take_rows(p, index, batch.rows) for p in (batch.args, batch.kwargs, batch.target)]
    return Batch(*parts, rows=len(index), step=batch.step)


def without_blow_up_rows(copies: Copies, start: int) -> Copies:
    """The copies with the batches kept from step ``start`` on left out (all but their
    finite rows when nothing was kept before), and every row holding NaN or inf."""
    def cleaned(sample):
        finite = [b for b in map(finite_rows, sample.batches) if b.rows]
        before = [b for b in finite if b.step < start]
        return replace(sample, batches=before or finite)
    return replace(copies, train=cleaned(copies.train), validation=cleaned(copies.validation))
