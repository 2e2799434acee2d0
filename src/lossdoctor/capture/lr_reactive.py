"""Whether the learning rate is cut by a scheduler that watches the run's own metric.

torch's ``ReduceLROnPlateau`` (which Lightning's ``"monitor"`` and Hugging Face's
``reduce_lr_on_plateau`` use too) cuts the rate when the validation loss stops improving. Its
cuts are a response to the run, not a plan: a fault that makes the loss stall or swing makes
it cut early, and a replay of the fixed training would not have had those cuts. Such a
scheduler holds the optimizer (its ``optimizer`` attribute), which is how it is found: once,
when the rate first falls. Its ``mode`` (whether it counts a higher or a lower value as an
improvement), its ``best`` (the best value it was stepped with so far, by that mode), its
``patience`` and the ``steps`` it was stepped by then are kept beside it: a scheduler in
``mode='max'`` stepped with a loss counts every fall as no improvement (lossdoctor.checks.
lr_schedule reads them against the validation losses)."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator

import torch


def cut_on_plateau(optimizer: torch.optim.Optimizer) -> dict | bool:
    """The plateau scheduler holding ``optimizer``, as ``{"mode": "min" or "max", "best": the
    best value it was stepped with, "patience", "steps": its step() calls}`` (NaN for a number
    it does not have), or False when no ReduceLROnPlateau holds it. One scan of the objects
    that refer to it (about 0.1 s in a process that imported torch), taken once per run."""
    for holder in schedulers_of(optimizer):
        if isinstance(holder, torch.optim.lr_scheduler.ReduceLROnPlateau):
            return {"mode": str(getattr(holder, "mode", "min")), "best": _number(holder, "best"),
                    "patience": _number(holder, "patience"),
                    "steps": _number(holder, "last_epoch")}
    return False


def schedulers_of(optimizer: torch.optim.Optimizer) -> Iterator[object]:
    """The objects that refer to ``optimizer`` and hold it as their ``optimizer`` (torch's
    schedulers, and schedulers written the same way)."""
    return (holder for holder in gc.get_referrers(optimizer)
            if getattr(holder, "optimizer", None) is optimizer)


def _number(scheduler, name: str) -> float:
    try:
        value = float(getattr(scheduler, name))
    except (TypeError, ValueError, AttributeError):
        return math.nan
    return value if math.isfinite(value) else math.nan
