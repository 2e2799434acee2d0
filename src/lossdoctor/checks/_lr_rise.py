"""A training loss that turned up after a learning-rate schedule raised the rate, found on the
curves alone. Read by lr_schedule (a schedule still rising late) and by learning_rate (a peak
reached early and too high, when nothing can be replayed)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossdoctor.lr_schedule import LrSchedule

#: Blocks the training curve is averaged in to find its lowest point and its rise (each a
#: twentieth of the run: long enough to average out minibatch noise, short enough to place it).
BLOCKS = 20
#: A rise that gave back at least half the progress made (or went non-finite) is a loss that
#: turned, not noise around a minimum.
GIVEN_BACK = 0.5
#: A schedule that first reaches its peak within this share of the run (a warmup: a few
#: percent; a one-cycle's rise: 30% by default) is meant to train at that peak, so a loss that
#: turned on the way up to it says the peak is too high, which is lr_too_high's question
#: (learning_rate.py reads the same rise when nothing can be replayed). The rises that are the
#: schedule's fault peak later: a warmup never capped peaks at the last step, StepLR with a
#: gamma above 1 at its last step-up (two thirds of the run on the devset).
PEAK_BY = 0.5
#: Confidence without a replay (the training loss was not one lossdoctor can replay): the
#: curves' pattern is specific (a loss that stopped exactly when the rate collapsed, or turned
#: once the rate passed every rate it fell at), but no fix was tested; just above the bar.
CURVES_ONLY = 0.55
#: A loss that never fell below its first block (the rate raised from the first steps on) broke
#: down when a later block's mean is this many times the first block's and the run's last block
#: is no lower than its first: every block is the mean of a twentieth of the run, whose minibatch
#: noise is a few percent, and a run that learns ends below where it began. A rise of half
#: again, kept to the end, is what a rate that undoes the training leaves (the devset's
#: onecycle_peak_too_high; the healthy one-cycle schedules of tests/test_lr_schedule.py end at a
#: third to a half of their first block).
BROKE_DOWN = 1.5


@dataclass
class Rise:
    best_step: int
    rise_step: int  # where the loss had turned, or where the rate went up in that block
    first: float  # mean loss of the first block
    best: float  # of the lowest block
    end: float  # of the last block (inf when not finite)
    lr_falling: float  # the highest rate of the steps up to the lowest block
    lr_rise: float  # the rate when the loss had turned
    cap: float  # the rate of the lowest block's first step
    worst: float = math.nan  # a breakdown's highest block (find_breakdown)
    gave_back: bool = True  # GIVEN_BACK of the progress or more (not only BROKE_DOWN x best)


def find_rise(schedule: LrSchedule, losses: list[tuple[int, float]]) -> Rise | None:
    blocks = _blocks(losses)
    if len(blocks) < 3 or not math.isfinite(blocks[0][1]):
        return None
    finite = [(i, b) for i, b in enumerate(blocks) if math.isfinite(b[1])]
    best_index, (best_start, best) = min(finite, key=lambda item: item[1][1])
    first, end = blocks[0][1], blocks[-1][1]
    progress = first - best
    relative = not peaks_early(schedule)
    if best_index == 0 or progress <= 0 or not _turned(end, best, progress, relative):
        return None
    turn = next(i for i in range(best_index + 1, len(blocks))
                if _turned(blocks[i][1], best, progress, relative))
    rise_step = blocks[turn][0]
    turn_end = blocks[turn + 1][0] if turn + 1 < len(blocks) else schedule.steps
    # The rate the loss fell at: up to the lowest block's first step. A rate raised inside
    # that block shows in the next one (a loss measured before the step it drives).
    lr_falling = _highest(schedule, 0, best_start + 1)
    lr_rise = _highest(schedule, best_start, turn_end)  # to the end of the block it turned in
    if not lr_rise > lr_falling:
        return None
    raised = _first_above(schedule, best_start, turn_end, lr_falling)
    return Rise(best_start, max(raised, rise_step), first, best, end, lr_falling, lr_rise,
                schedule.at(best_start), gave_back=_turned(end, best, progress, False))


def replay_turned(curve: list[float]) -> bool:
    """Whether a replay's validation curve (from before its first step) turned as a broken
    run's loss does: a point not finite, or its last point GIVEN_BACK of its progress above
    its lowest. A replay that did not turn did not reproduce the run's breakdown, and a fix
    compared with it shows nothing either way (dev 367026: the run's loss went 0.0003 ->
    3e7 once StepLR(gamma=10) raised the rate; the replay of its schedule reached 6e-9)."""
    if len(curve) < 3 or not all(math.isfinite(v) for v in curve):
        return bool(curve) and not all(math.isfinite(v) for v in curve)
    lowest = min(curve[1:])
    return _turned(curve[-1], lowest, curve[0] - lowest, False)


def find_breakdown(schedule: LrSchedule, losses: list[tuple[int, float]],
                   undone: bool = False) -> Rise | None:
    """A loss that rose from its first block to BROKE_DOWN times it (or to a loss that is not
    finite) once the schedule raised the rate above the first block's, and ended no lower than
    it began, or (``undone``) no better than the constant guess: ``find_rise`` for a loss that
    never fell first (``best`` is the first block). The first block holds the untrained
    model's losses, far above the guess where the output starts far from it (dev 362004: BCE
    on logits, 1.36 where the guess is 0.69), so a run back below it may still have learned
    nothing."""
    blocks = _blocks(losses)
    if len(blocks) < 3 or not (math.isfinite(blocks[0][1]) and blocks[0][1] > 0):
        return None
    first, end = blocks[0][1], blocks[-1][1]
    worst_index = max(range(len(blocks)), key=lambda i: blocks[i][1])
    worst = blocks[worst_index][1]
    if worst < BROKE_DOWN * first or (end < first and not undone):
        return None
    turn_end = blocks[worst_index + 1][0] if worst_index + 1 < len(blocks) else schedule.steps
    lr_falling = _highest(schedule, 0, blocks[1][0])
    lr_rise = _highest(schedule, blocks[worst_index][0], turn_end)
    if not lr_rise > lr_falling:
        return None
    raised = _first_above(schedule, blocks[1][0], turn_end, lr_falling)
    return Rise(blocks[0][0], raised, first, first, end, lr_falling, lr_rise, schedule.at(0),
                worst)


def peaks_early(schedule: LrSchedule) -> bool:
    """Whether the schedule first reaches its peak within PEAK_BY of the run."""
    first_peak = next(step for step, lr in schedule.changes if lr == schedule.peak)
    return first_peak < PEAK_BY * schedule.steps


def _first_above(schedule: LrSchedule, start: int, stop: int, level: float) -> int:
    """The first step from ``start`` (before ``stop``) whose rate is above ``level``."""
    candidates = [(start, schedule.at(start))] + [
        (step, lr) for step, lr in schedule.changes if start < step < stop]
    return next((step for step, lr in candidates if lr > level), start)


def _highest(schedule: LrSchedule, start: int, stop: int) -> float:
    """The highest rate of steps ``start`` to ``stop - 1``."""
    inside = [lr for step, lr in schedule.changes if start < step < stop]
    return max([schedule.at(start), *inside])


def _turned(value: float, best: float, progress: float, relative: bool) -> bool:
    """Whether a block's mean ``value`` is a loss that turned from its lowest block's
    ``best``: it gave back GIVEN_BACK of the ``progress`` made, or is not finite, or
    (``relative``, a schedule that raised the rate late: its replay capped at the lowest
    block's rate decides) a positive loss rose to BROKE_DOWN times its lowest block. A loss
    that fell fast before a StepLR(gamma=10) raised the rate may give back a quarter of its
    progress and end twice its lowest: the rise a raised rate leaves, which half of the
    progress misses."""
    return (not math.isfinite(value) or value - best >= GIVEN_BACK * progress
            or (relative and 0 < BROKE_DOWN * best <= value))


def _blocks(losses: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(first step, mean loss) of BLOCKS equal runs of steps (fewer for short runs); a block
    with a loss that is not finite has an infinite mean."""
    size = max(len(losses) // BLOCKS, 1)
    blocks = []
    for start in range(0, len(losses) - size + 1, size):
        chunk = losses[start:start + size]
        values = [v for _, v in chunk]
        mean = sum(values) / len(values) if all(math.isfinite(v) for v in values) else math.inf
        blocks.append((chunk[0][0], mean))
    return blocks
