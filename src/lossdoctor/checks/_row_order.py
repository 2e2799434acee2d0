"""Do a model's outputs stay with their rows? The run's trained model is given each captured
batch twice, once as it came and once with its rows in reverse order (every input and target
tensor whose leading size is the batch's rows); the second prediction, put back in the first
order, should be the first. A model that sorts its rows (by length, for pack_padded_sequence)
and returns them sorted, or that mixes rows (attention over the batch dimension, a view that
merges rows), pairs its outputs with other rows' targets.

A time-major batch (``(time, batch, ...)``: _examples.py) is reversed along its examples, not its
time steps: a recurrent model given its steps backwards computes other outputs, as it should.

A model whose output is random in eval mode (a VAE's sampled latent) differs between two calls
anyway: the reversal counts only against that call-to-call difference, measured with two seeds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import torch

from lossdoctor.capture.sample import Batch, row_major
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.checks._examples import (
    EXAMPLES_FIRST,
    by_example,
    examples,
    take_examples,
)
from lossdoctor.sandbox import isolated

#: Batches of fewer rows are not tried: reversing 2 or 3 rows moves too few of them.
MIN_ROWS = 4
#: Batches tried (each costs two forward passes, plus two for the noise).
MAX_BATCHES = 4


@dataclass(frozen=True)
class RowOrder:
    """How far the reversed batch's prediction, put back in order, is from the plain one,
    relative to how much the predictions differ from row to row (``moved``), and how far two
    calls on the same batch with other seeds are (``noise``, on the same scale)."""

    moved: float
    noise: float
    batches: int


def row_order(replayer, model, batches: list[Batch],
              axis: int = EXAMPLES_FIRST) -> RowOrder | None:
    """The reversal test on up to MAX_BATCHES of ``batches`` whose examples lie along ``axis``
    (None when none can be tried)."""
    tried = [b for b in batches if examples(b, axis) >= MIN_ROWS
             and (axis != EXAMPLES_FIRST or row_major(b))][:MAX_BATCHES]
    if not tried:
        return None
    model = copy.deepcopy(model).eval()
    moved, noise, counted = 0.0, 0.0, 0
    for batch in tried:
        measured = _measured(replayer, model, batch, axis)
        if measured is not None:
            moved, noise, counted = moved + measured[0], noise + measured[1], counted + 1
    if counted == 0:
        return None
    return RowOrder(moved / counted, noise / counted, counted)


def _measured(replayer, model, batch: Batch, axis: int) -> tuple[float, float] | None:
    count = examples(batch, axis)
    reverse = list(range(count - 1, -1, -1))
    reversed_batch = replace(batch, args=take_examples(batch.args, reverse, axis, count),
                             kwargs=take_examples(batch.kwargs, reverse, axis, count),
                             target=take_examples(batch.target, reverse, axis, count))
    plain = _prediction(replayer, model, batch, axis, seed=0)
    again = _prediction(replayer, model, batch, axis, seed=1)
    back = _prediction(replayer, model, reversed_batch, axis, seed=0)
    if plain is None or again is None or back is None or back.shape != plain.shape:
        return None
    if not all(bool(torch.isfinite(p).all()) for p in (plain, again, back)):
        return None  # NaN or inf outputs (a blown-up model): nothing to compare
    back = back[reverse]
    spread = float((plain - plain.mean(dim=0)).norm())
    if spread == 0.0:
        return None
    return float((back - plain).norm()) / spread, float((again - plain).norm()) / spread


def _prediction(replayer, model, batch: Batch, axis: int, seed: int) -> torch.Tensor | None:
    try:
        with isolated(seed), torch.no_grad():
            output = first_tensor(replayer.predict(model, batch))
    except Exception:  # noqa: BLE001 - a model that takes its rows only in one order
        return None  # (pack_padded_sequence with enforce_sorted=True on rows sorted by length)
    if output is None or output.dim() == 0:
        return None
    if axis != EXAMPLES_FIRST:
        return by_example(output, batch)
    if output.shape[0] != batch.rows or batch.rows in output.shape[1:]:
        return None  # rows scored against rows (an in-batch loss): reversing moves both
    return output.detach().double().reshape(batch.rows, -1)
