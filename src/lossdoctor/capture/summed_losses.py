"""Whether a replayed loss is a torch.nn loss summed over its elements, found by watching the
torch calls that compute it.

The run's curves record a torch.nn loss call as the mean per element (per_row.py), whatever its
reduction, but a replay trains on what the script trained on. A loss the model's forward or a
criterion object computes (fairseq's ``criterion(model, sample)`` with ``nll_loss(...,
reduction="sum")``), or a hand-written ``cross_entropy(..., reduction="none").sum()``, is a sum
of many terms; a replay that reported it as it is put its losses on another scale than the
run's curves (a sum over 2,000 tokens beside a curve per token), and the checks that compare the
two compared scales. A replay's loss is therefore divided by its terms when it is a summed
torch.nn loss call's own value (or the full ``.sum()`` of an unreduced one's); a loss made of
anything else (a hand-written sum of squares, recorded as the sum it is) keeps its value. The
``.mean()`` of an unreduced nll_loss / cross_entropy whose target leaves labels out (a masked
validation target, hand_written_events._paired_batch) is read over the labels it counts.

Watching every torch call of a forward costs time, so each replayed loss is watched once, and
after that only when it turned out to be such a sum (SummedLosses).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode

from lossdoctor.capture.loss_program import IGNORING_LOSSES, TORCH_LOSSES
from lossdoctor.capture.per_row import DEFAULT_IGNORE_INDEX, mean_count, reduction_of

#: The attribute a replayed loss tensor carries its terms in (absent: 1).
TERMS = "_lossdoctor_summed_terms"
#: Names a full sum is called by (``loss.sum()``, ``torch.sum(loss)``).
SUM_CALLS = {"sum", "nansum"}


def terms_of(loss: torch.Tensor) -> float:
    """What ``loss`` is divided by to be the mean per element the run's curves record."""
    return getattr(loss, TERMS, 1)


class SummedLosses:
    """Computes replayed losses, each role's ("training", "scored") watched on its first
    computation and then only if it was a summed torch.nn loss; such a loss tensor carries its
    terms (terms_of)."""

    def __init__(self) -> None:
        self._watched: dict[str, bool] = {}

    def computed(self, role: str, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        if not self._watched.get(role, True):
            return compute()
        with SummedLossCalls() as calls:
            loss = compute()
        terms = calls.terms(loss)
        self._watched.setdefault(role, terms > 1 or calls.ignoring_mean)
        if terms != 1 and isinstance(loss, torch.Tensor):
            setattr(loss, TERMS, terms)
        return loss


class SummedLossCalls(TorchFunctionMode):
    """Notes, for each torch.nn loss call with ``reduction="sum"`` under it, how many terms its
    value adds up, and for each unreduced one, the terms of its full sum."""

    def __init__(self) -> None:
        super().__init__()
        self._terms: dict[int, float] = {}  # a fraction for a mean over counted labels
        self._unreduced: dict[int, int] = {}
        self._kept: list[torch.Tensor] = []  # alive, so that no other tensor takes their ids
        #: Unreduced losses that leave labels out (ignore_index): (elements, elements counted).
        self._ignoring: dict[int, tuple[int, int]] = {}
        #: The ``.mean()`` of such a loss was taken (whether or not this batch left any out).
        self.ignoring_mean = False

    def terms(self, loss) -> float:
        return self._terms.get(id(loss), 1) if isinstance(loss, torch.Tensor) else 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if not isinstance(result, torch.Tensor):
            return result
        if _is_torch_loss(func):
            self._loss_call(func, args, kwargs, result)
        elif (getattr(func, "__name__", "") in SUM_CALLS and len(args) == 1 and not kwargs
              and id(args[0]) in self._unreduced):
            self._note(self._terms, result, self._unreduced[id(args[0])])
        elif (getattr(func, "__name__", "") == "mean" and len(args) == 1 and not kwargs
              and id(args[0]) in self._ignoring):
            self._mean_of_ignoring(result, *self._ignoring[id(args[0])])
        return result

    def _mean_of_ignoring(self, result: torch.Tensor, elements: int, counted: int) -> None:
        """``loss.mean()`` of an unreduced loss whose left-out labels count 0: the mean of the
        counted ones is the value over counted / elements. A validation batch whose target a
        mask selected is replayed so (hand_written_events._paired_batch), and its loss on the
        scale of the run's validation curve, a mean over the selected positions."""
        self.ignoring_mean = True
        if 0 < counted < elements:
            self._note(self._terms, result, counted / elements)

    def _loss_call(self, func, args: tuple, kwargs: dict, result: torch.Tensor) -> None:
        try:
            settings = _settings(func, args, kwargs)
        except (TypeError, ValueError):
            return
        reduction = reduction_of(func, settings)
        if reduction == "none" and result.numel() > 1:
            self._note(self._unreduced, result, result.numel())
            self._note_ignoring(func, settings, result)
            return
        values = list(settings.values())
        if reduction != "sum" or len(values) < 2 or not isinstance(values[0], torch.Tensor):
            return
        ignore_index = settings.get("ignore_index", DEFAULT_IGNORE_INDEX)
        try:
            count = mean_count(func.__name__, values[0], values[1], ignore_index)
        except RuntimeError:  # shapes that do not broadcast
            return
        self._note(self._terms, result, max(count, 1))

    def _note_ignoring(self, func, settings: dict, result: torch.Tensor) -> None:
        values = list(settings.values())
        if func.__name__ not in IGNORING_LOSSES or len(values) < 2 or not isinstance(
                values[1], torch.Tensor) or values[1].numel() != result.numel():
            return
        ignore_index = settings.get("ignore_index", DEFAULT_IGNORE_INDEX)
        counted = int((values[1] != ignore_index).sum())
        self._ignoring[id(result)] = (result.numel(), counted)

    def _note(self, table: dict, tensor: torch.Tensor, terms: float) -> None:
        self._kept.append(tensor)
        table[id(tensor)] = terms


def _settings(func, args: tuple, kwargs: dict) -> dict:
    """The loss call's arguments by name, defaults filled in, in the signature's order (its
    prediction and target first). The signature is read once per function: read at every call,
    it was most of the watch's cost (bench: 300 replay steps of a summed loss on the tests'
    model, docs/devset.md session 25)."""
    signature, defaults, plain = _signature(func)
    if plain and len(args) <= len(defaults) and all(k in plain for k in kwargs):
        # torch's loss functions: no *args, no **kwargs; args no longer than the names
        arguments = dict(zip(plain, args, strict=False))
        arguments.update(kwargs)
    else:
        arguments = signature.bind(*args, **kwargs).arguments
    return {name: arguments.get(name, default) for name, default in defaults
            if name in arguments or default is not _EMPTY}


_EMPTY = inspect.Parameter.empty
_PLAIN = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@functools.cache
def _signature(func) -> tuple[inspect.Signature, tuple, tuple]:
    """The signature, each parameter's (name, default), and the names in order when every
    parameter can be given by position (then a call is bound without ``Signature.bind``)."""
    signature = inspect.signature(func)
    parameters = signature.parameters.values()
    plain = tuple(p.name for p in parameters) if all(p.kind in _PLAIN for p in parameters) else ()
    return signature, tuple((p.name, p.default) for p in parameters), plain


def _is_torch_loss(func) -> bool:
    name = getattr(func, "__name__", "")
    return (getattr(func, "__module__", "") == "torch.nn.functional"
            and (name.endswith("_loss") or name in TORCH_LOSSES))
