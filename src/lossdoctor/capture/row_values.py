"""Plain numbers a loss is given one per batch row: CTC's ``input_lengths`` and
``target_lengths``, the lengths ``pack_padded_sequence`` takes, per-row weights in a list. The
script builds them from each batch (a collate function returns them beside the tensors), so
they are the batch's data as much as its target is.

A recorded loss program holds a RowValues reference in their place, naming the call and the
argument they were given to; each kept batch holds the per-row lists its own loss calls were
given (``Batch.row_values``, read from the tape of that batch), and a replay reads them from
the batch it scores. A batch that holds none for a reference (rows cut or joined anew into
batches of another size) cannot be scored with this loss: the replay says so (RowValuesMissing)
rather than score it with another batch's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lossdoctor.findings import Skip

#: The fewest rows whose list of numbers is read as one number per row. A list of one number
#: is as likely a dimension (``sum(dim=[1])``) in a loop of one-row batches as a row's length.
MIN_ROWS = 2


@dataclass(frozen=True)
class RowValues:
    """Per-row numbers given to the ``occurrence``-th call named ``name`` on the tape, at
    ``path`` among its arguments: ("arg", 2) or ("kwarg", "lengths")."""

    name: str
    occurrence: int
    path: tuple


class RowValuesMissing(Skip):
    """A replay scored a batch that holds no per-row numbers for its loss."""


MISSING = ("needs, for every batch it scores, the numbers your loss is given one per row "
           "(lengths such as CTCLoss's input_lengths and target_lengths): they are known only "
           "for the batches your script computed its loss on, not for rows cut or joined into "
           "other batches")


def per_row_numbers(value, rows: int) -> bool:
    """Whether ``value`` is a list or tuple of plain numbers, one per batch row."""
    return (isinstance(value, (list, tuple)) and not isinstance(value, torch.Size)
            and rows >= MIN_ROWS and len(value) == rows
            and all(_is_number(v) for v in value))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def in_tape(calls, rows: int) -> dict[RowValues, tuple]:
    """Every list of per-row numbers the recorded ``calls`` were given, by where."""
    found = {}
    for call, occurrence in zip(calls, occurrences(calls), strict=True):
        for path, value in _arguments(call):
            if per_row_numbers(value, rows):
                found[RowValues(call.name, occurrence, path)] = tuple(value)
    return found


def occurrences(calls) -> list[int]:
    """For each call, how many calls of its name came before it."""
    seen: dict[str, int] = {}
    counted = []
    for call in calls:
        counted.append(seen.get(call.name, 0))
        seen[call.name] = counted[-1] + 1
    return counted


def _arguments(call):
    yield from ((("arg", i), v) for i, v in enumerate(call.args))
    yield from ((("kwarg", k), v) for k, v in call.kwargs.items())


def marked(call, occurrence: int, rows: int):
    """``call`` with each list of per-row numbers among its arguments replaced by the
    RowValues that reads it from a replayed batch."""
    def general(path, value):
        return RowValues(call.name, occurrence, path) if per_row_numbers(value, rows) else value

    args = tuple(general(("arg", i), v) for i, v in enumerate(call.args))
    kwargs = {k: general(("kwarg", k), v) for k, v in call.kwargs.items()}
    return type(call)(call.func, args, kwargs, call.name)


def read(batch, ref: RowValues) -> list:
    """The numbers the loss of ``batch`` was given at ``ref``; RowValuesMissing when the batch
    holds none for it, or not one per row."""
    held = getattr(batch, "row_values", None) or {}
    values = held.get(ref)
    if values is None or len(values) != batch.rows:
        raise RowValuesMissing(MISSING)
    return list(values)


def taken(held: dict, index: list[int]) -> dict:
    """The per-row numbers of the rows at ``index`` (a batch cut to them)."""
    return {ref: tuple(values[i] for i in index) for ref, values in held.items()}


def joined(helds: list[dict]) -> dict:
    """The per-row numbers of batches joined row by row: those every batch holds."""
    common = set.intersection(*(set(held) for held in helds)) if helds else set()
    return {ref: tuple(v for held in helds for v in held[ref]) for ref in common}
