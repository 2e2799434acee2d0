"""The learning rate the run trained at, step by step, as capture recorded it.

"The user's learning rate" is the schedule's **peak**: the highest rate the run trained at. A
warmup starts far below it and a decay ends far below it, so the first or the last value says
little about what the user chose (``lr=1e-3`` with warmup starts at 1e-5); the peak is the
value the user wrote in a schedule (``max_lr``, the base lr of a warmup or decay) and the one
the range test places. Replays follow the schedule's shape as multipliers of that peak, except
a *reactive* one's (ReduceLROnPlateau: capture/lr_reactive.py): its cuts answered the run's own
losses, and a fault that stalls the loss brings them early, so a replay of the fixed training
would not have had them. Replays then train at the peak, as the run did until its first cut.
A reactive schedule keeps its scheduler's ``mode``, the ``best`` value it had been stepped
with at that cut, its patience and how many times it had been stepped (``plateau_*``).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from lossdoctor.trace import Setup


def training_group_lr(param_groups: list[dict]):
    """The learning rate of an optimizer's parameter groups that the schedule is read from: the
    first group that trains (a positive rate), as capture/model_setup.py takes its settings. A
    first group at lr 0 (a frozen backbone by mmengine's ``lr_mult=0``, a per-group rate of 0)
    would hide the schedule of the groups that train; when none is positive (a warmup from 0,
    every group at 0), the first group's. A rate held in a tensor is taken as it is: reading its
    value costs a device sync."""
    for group in param_groups:
        lr = group.get("lr", 0.0)
        if not isinstance(lr, (int, float)) or lr > 0:
            return lr
    return param_groups[0].get("lr", 0.0) if param_groups else 0.0


@dataclass(frozen=True)
class LrSchedule:
    """The lr at each change (``changes``: (step, lr), steps ascending) over ``steps`` steps;
    ``reactive`` when a plateau scheduler made its cuts, its ``plateau_mode`` ("min" or
    "max") and ``plateau_best`` (the best value it had been stepped with, at its first cut)."""

    changes: tuple[tuple[int, float], ...]
    steps: int
    reactive: bool = False
    plateau_mode: str | None = None
    plateau_best: float = math.nan
    plateau_patience: float = math.nan
    plateau_steps: float = math.nan  # its step() calls when it first cut the rate

    @classmethod
    def of(cls, setup: Setup, steps: int) -> LrSchedule | None:
        """The run's schedule, or None when no positive learning rate was recorded."""
        changes = tuple((int(step), float(lr)) for step, lr in setup.lr_schedule)
        if not changes or steps < 1 or not max(lr for _, lr in changes) > 0:
            return None
        plateau = setup.lr_reactive if isinstance(setup.lr_reactive, dict) else {}
        return cls(changes, steps, bool(setup.lr_reactive), plateau.get("mode"),
                   *(float(plateau.get(name, math.nan)) for name in ("best", "patience", "steps")))

    @property
    def peak(self) -> float:
        return max(lr for _, lr in self.changes)

    @property
    def replayed(self) -> bool:
        """Whether replays follow this schedule's shape: a planned one's, not a reactive one's."""
        return not (self.constant or self.reactive)

    @property
    def first(self) -> float:
        return self.changes[0][1]

    @property
    def last(self) -> float:
        return self.changes[-1][1]

    @property
    def constant(self) -> bool:
        return all(lr == self.first for _, lr in self.changes)

    @property
    def never_improved(self) -> bool:
        """Whether the plateau scheduler first cut the rate at the earliest it can, patience + 2
        steps in: the first value it was stepped with stayed its best (every later one counted
        as no improvement)."""
        return self.plateau_steps <= self.plateau_patience + 2

    @property
    def first_cut(self) -> int | None:
        """The first step whose rate is below the one before; None when it never fell."""
        return next((step for (_, before), (step, lr)
                     in zip(self.changes, self.changes[1:], strict=False) if lr < before), None)

    def at(self, step: int) -> float:
        """The lr the run trained at on optimizer step ``step`` (the last change at or before
        it; the first value before the first change)."""
        starts = [s for s, _ in self.changes]
        index = max(bisect.bisect_right(starts, step) - 1, 0)
        return self.changes[index][1]

    def per_step(self) -> list[float]:
        return [self.at(step) for step in range(self.steps)]

    def multipliers(self, count: int) -> list[float]:
        """The schedule's shape resampled to ``count`` steps, as fractions of the peak."""
        peak = self.peak
        return [self.at(i * self.steps // max(count, 1)) / peak for i in range(count)]
