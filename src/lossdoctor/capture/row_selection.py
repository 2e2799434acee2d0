"""A loss scored on a selection of the batch's rows: full-graph training.

A graph network runs once over every node at each step and takes its loss on some of them:
``F.cross_entropy(out[train_mask], y[train_mask])`` (a boolean mask with a row per node) or
``F.nll_loss(out[idx_train], labels[idx_train])`` (an index). Its validation scores other rows
of the same forward (``out[val_mask]``). The selection is part of the batch, as its inputs and
target are: the kept training batch holds the training selection, the kept validation batch the
same inputs and target with the validation's own, and a replay trains on the one and scores
the other. A selection is taken only when one tensor indexes both the model's output (or what
was computed from it) and the target, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lossdoctor.capture.loss_tape import External, Result, Tape
from lossdoctor.capture.replay_losses import same_data

#: The call that selects rows by a mask or an index (``out[mask]``, ``y[idx]``).
SELECTING_CALL = "__getitem__"
#: Index dtypes a selection of rows may have.
INDEX_DTYPES = (torch.int64, torch.int32)


@dataclass(frozen=True)
class Selection:
    """In a recorded loss program: the batch's row selection."""


def is_row_selection(tensor, rows: int) -> bool:
    """A boolean mask with a row per batch row, or an index of at most ``rows`` of them."""
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != 1 or rows <= 1:
        return False
    if tensor.dtype == torch.bool:
        return tensor.shape[0] == rows
    return tensor.dtype in INDEX_DTYPES and 0 < tensor.shape[0] <= rows


def selection_in(tape: Tape, needed: set[int], value_of, rows: int) -> torch.Tensor | None:
    """The one tensor that selects rows of both the output's side and the target's side of
    the calls ``needed`` (``value_of(ref)``: the tensor an argument stands for), used for
    nothing else; else None."""
    output_side, target_side, other = [], [], []
    for index in sorted(needed):
        call = tape.calls[index]
        for position, arg in enumerate((*call.args, *call.kwargs.values())):
            tensor = value_of(arg) if not tape.derives(arg) else None
            if tensor is None:
                continue
            if call.name == SELECTING_CALL and position == 1 and len(call.args) == 2:
                side = output_side if tape.derives(call.args[0]) else target_side
                side.append(tensor)
            else:
                other.append(tensor)
    return _one_selection(output_side, target_side, other, rows)


def _one_selection(output_side: list, target_side: list, other: list, rows: int):
    if not output_side or not target_side:
        return None
    first = output_side[0]
    if not is_row_selection(first, rows):
        return None
    if not all(_same(first, t) for t in output_side + target_side):
        return None
    return None if any(_same(first, t) for t in other) else first


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and same_data(a, b)


def selected_source(tape: Tape, target: torch.Tensor,
                    rows: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(y, selection)`` when a loss's ``target`` is ``y[selection]`` of a ``y`` with a row
    per batch row (the labels of every node, indexed by this loss's rows); else None."""
    ref = tape.ref(target)
    if not isinstance(ref, Result) or ref.item is not None:
        return None
    call = tape.calls[ref.call]
    if call.name != SELECTING_CALL or len(call.args) != 2:
        return None
    source, selection = (a.tensor if isinstance(a, External) else None for a in call.args)
    if source is None or source.dim() == 0 or source.shape[0] != rows:
        return None
    return (source, selection) if is_row_selection(selection, rows) else None


def selection_copy(selection: torch.Tensor) -> torch.Tensor:
    """The selection as a kept batch holds it: the rows it selects, as an index on the CPU."""
    selection = selection.detach().to("cpu")
    if selection.dtype == torch.bool:
        return torch.nonzero(selection).flatten()
    return selection.to(torch.int64, copy=True)


def shared_share(selection: torch.Tensor, others: list[torch.Tensor]) -> float:
    """The part of ``selection``'s rows that ``others`` (kept selections) select too."""
    rows = set(selection.tolist())
    if not rows:
        return 0.0
    taken = set().union(*(set(o.tolist()) for o in others)) if others else set()
    return len(rows & taken) / len(rows)
