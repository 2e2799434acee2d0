"""Which dimension of a training batch holds its examples.

A batch is captured as the model was given it, and its rows are read along the first dimension.
Sequence models written time-major (``nn.LSTM``/``nn.GRU`` with the default
``batch_first=False``, a transformer encoder without ``batch_first``, a hand-written cell
looping over ``input.unbind(0)``) are given ``(time, batch, features)``: the first dimension
holds time steps of the same few examples, and what varies "from row to row" is the time.

The second dimension holds the examples (``TIME_FIRST``) when

1. the target leads with the inputs' second size, not their first (a time-major sequence
   classifier: inputs ``(T, B, F)``, target ``(B,)``; a label per step given to the loss as
   ``y.t()``, ``(B, T)``); or
2. the target leads with both (``(T, B)``: a label per time step) and the model, given the batch
   with the first slice of one dimension replaced by its last, changes its outputs at the other
   positions of the first dimension but not at the other positions of the second: examples are
   computed apart from one another, the steps of a sequence are not.

Otherwise the first dimension holds them (``EXAMPLES_FIRST``), as before.
"""

from __future__ import annotations

import copy

import torch

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import map_tensors, tensors_in
from lossdoctor.experiments import first_input
from lossdoctor.sandbox import isolated

EXAMPLES_FIRST, TIME_FIRST = 0, 1
#: A change at the other positions of a dimension counts as mixing when it is at least this
#: share of the outputs' own spread. Outputs computed apart change by float rounding at most
#: (below 1e-6 of the spread, as _row_order measures rows kept in place); one recurrent step
#: carrying a changed first input into the next changes them by a visible share (0.01 to 0.3
#: of the spread on the LSTMs and GRUs of tests/test_examples.py, untrained).
MIXING_SHARE = 1e-4
#: Batches tried for the model test (each costs three forward passes).
MAX_BATCHES = 2


def example_axis(case) -> int:
    """The dimension of the run's training batches that holds the examples, once per case."""
    return case.shared("example_axis", lambda: _example_axis(case))


def _example_axis(case) -> int:
    batches = [b for b in case.copies.train.batches if _two_leading(b)]
    told = [b for b in batches if len(set(_sizes(b))) == 2] or batches  # T == B tells nothing
    if not told or not all(_labels_of_second(b) or _labels_of_both(b) for b in told):
        return EXAMPLES_FIRST
    ambiguous = [b for b in told if not _labels_of_second(b)]
    if not ambiguous:
        return TIME_FIRST
    votes = [_mixing(case, b) for b in ambiguous[:MAX_BATCHES]]
    votes = [v for v in votes if v is not None]
    if votes and all(first and not second for first, second in votes):
        return TIME_FIRST
    return EXAMPLES_FIRST


def target_axis(batch: Batch, axis: int) -> int:
    """The dimension of the batch's target that holds its examples: a time-major batch's
    target may be kept as given (``(T, B)``) or as the loss took it (``y.t()``: ``(B, T)``)."""
    target = batch.target
    if axis == EXAMPLES_FIRST or _labels_of_second(batch):
        return EXAMPLES_FIRST
    if isinstance(target, torch.Tensor) and target.dim() < 2:
        return EXAMPLES_FIRST  # one value per example (a last batch of as many examples as steps)
    return axis


def examples(batch: Batch, axis: int) -> int:
    """How many examples the batch holds."""
    return batch.rows if axis == EXAMPLES_FIRST else _sizes(batch)[1]


def examples_first(tensor: torch.Tensor, axis: int) -> torch.Tensor:
    """``tensor`` with its examples' dimension first."""
    return tensor if axis == EXAMPLES_FIRST else tensor.movedim(axis, 0)


def take_examples(value, index: list[int] | torch.Tensor, axis: int, count: int):
    """Only the given examples of each tensor whose size along ``axis`` is ``count`` (a tensor
    of fewer dimensions, as a time-major batch's lengths of shape (B,), by its first)."""
    def taken(t: torch.Tensor) -> torch.Tensor:
        if t.dim() > axis and t.shape[axis] == count:
            return t.index_select(axis, torch.as_tensor(index, dtype=torch.long))
        if t.dim() > 0 and t.shape[0] == count:
            return t[index]
        return t
    return map_tensors(value, taken)


def _first_input(batch: Batch) -> torch.Tensor | None:
    """The model's first input tensor (experiments.first_input), when it has dimensions."""
    first = first_input(batch)
    return first if first is not None and first.dim() > 0 else None


def _sizes(batch: Batch) -> tuple[int, int]:
    first = _first_input(batch)
    return int(first.shape[0]), int(first.shape[1])


def _two_leading(batch: Batch) -> bool:
    """Inputs of at least two dimensions and a tensor target: (T, B, ...)."""
    first = _first_input(batch)
    return (first is not None and first.dim() >= 2 and first.shape[0] == batch.rows
            and isinstance(batch.target, torch.Tensor) and batch.target.dim() >= 1)


def _labels_of_second(batch: Batch) -> bool:
    steps, count = _sizes(batch)
    target = batch.target
    return (steps != count and isinstance(target, torch.Tensor) and target.dim() >= 1
            and target.shape[0] == count)


def _labels_of_both(batch: Batch) -> bool:
    target = batch.target
    return target.dim() >= 2 and tuple(target.shape[:2]) == _sizes(batch) and min(
        _sizes(batch)) >= 3


def _mixing(case, batch: Batch) -> tuple[bool, bool] | None:
    """Whether the initial model's outputs at the other positions of the first, and of the
    second dimension change when the first slice of that dimension is replaced by its last."""
    model = case.copies.initial_model
    if model is None or case.copies.replay_loss is None:
        return None
    model = copy.deepcopy(model).eval()
    plain = _outputs(case, model, batch)
    if plain is None:
        return None
    spread = float((plain - plain.mean(dim=(0, 1))).norm())
    if spread == 0.0:
        return None
    changed = []
    for dim in (0, 1):
        outputs = _outputs(case, model, _first_slice_replaced(batch, dim))
        if outputs is None or outputs.shape != plain.shape:
            return None
        others = (outputs - plain).narrow(dim, 1, plain.shape[dim] - 1)
        changed.append(float(others.norm()) / spread >= MIXING_SHARE)
    return changed[0], changed[1]


def _first_slice_replaced(batch: Batch, dim: int) -> Batch:
    """The batch with every input's first slice along ``dim`` set to its last."""
    size = _sizes(batch)[dim]

    def replaced(t: torch.Tensor) -> torch.Tensor:
        if t.dim() <= dim or t.shape[dim] != size:
            return t
        t = t.clone()
        t.select(dim, 0).copy_(t.select(dim, size - 1))
        return t
    return Batch(map_tensors(batch.args, replaced), map_tensors(batch.kwargs, replaced),
                 batch.target, batch.rows)


def _outputs(case, model, batch: Batch) -> torch.Tensor | None:
    try:
        with isolated(0), torch.no_grad():
            output = case.replayer.predict(model, batch)
    except Exception:  # noqa: BLE001 - a model this test cannot call: no answer, no harm
        return None
    found = tensors_in(output)
    return folded(found[0], batch) if found else None


def folded(output: torch.Tensor, batch: Batch) -> torch.Tensor | None:
    """A prediction for a batch of (first size, second size, ...) inputs as (first size, second
    size, rest); a prediction given to the loss flattened (``logits.reshape(-1, classes)``)
    keeps the first dimension's order, and is folded back. None for any other shape."""
    steps, count = _sizes(batch)
    if output.dim() == 0 or output.numel() % (steps * count):
        return None
    if output.shape[0] not in (steps, steps * count):
        return None
    if output.shape[0] == steps and (output.dim() < 2 or output.shape[1] != count):
        return None
    return output.detach().double().reshape(steps, count, -1)


def by_example(output: torch.Tensor, batch: Batch) -> torch.Tensor | None:
    """A time-major batch's prediction as one row per example (examples, time x rest)."""
    output = folded(output, batch)
    if output is None:
        return None
    return output.movedim(1, 0).reshape(output.shape[1], -1)
