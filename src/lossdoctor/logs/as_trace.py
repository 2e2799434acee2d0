"""The chosen series as a Trace, the record `lossdoctor run` keeps of a watched run, so that the
curves are judged by the very functions that judge a watched run (curves, symptom, checks).

Points are placed by step when every point has one, else by epoch (Keras' CSVLogger logs no
step: epoch e's training loss then sits at step e). A validation loss sits one step after the
step it was logged at: the training loss logged at that same step belongs to the epoch the
validation pass closes (Lightning, Trainer and hand-written loops log both at the epoch's last
step)."""

from __future__ import annotations

import math

from lossdoctor.logs.names import Chosen
from lossdoctor.logs.series import Point, Series
from lossdoctor.trace import LossRecord, Trace

TRAIN, EVAL = 0, 1  # at one step, the training loss comes before the validation pass
#: A longer training series is averaged in runs of consecutive points down to this many: a
#: watched run's trace keeps a bounded history the same way (trace.MAX_LOSS_RECORDS, pairs merged
#: past it), and a 100,000-point log then takes a tenth of the time to judge. A NaN stays a NaN.
MAX_TRAIN_POINTS = 10_000


def trace_of(chosen: Chosen) -> Trace:
    by_step = _all_have_steps([chosen.train, chosen.validation])
    train = _thinned(_points(chosen.train), MAX_TRAIN_POINTS)
    records = [(*_place(p, by_step, TRAIN), p.value) for p in train]
    records += [(*_place(p, by_step, EVAL), p.value) for p in _points(chosen.validation)]
    trace = Trace()
    for step, phase, value in sorted(records, key=lambda r: (r[0], r[1])):
        trace.add_loss(LossRecord(value, 1, "eval" if phase == EVAL else "train", step))
    trace.steps = max((r[0] for r in records), default=-1) + 1
    for point in sorted(_points(chosen.lr), key=lambda p: _x(p, by_step)):
        trace.setup.follow_lr(_x(point, by_step), point.value)
    return trace


def unit_of(chosen: Chosen) -> str:
    """What the trace's steps count: "step" (optimizer steps) or "epoch"."""
    return "step" if _all_have_steps([chosen.train, chosen.validation]) else "epoch"


def _all_have_steps(series: list[Series | None]) -> bool:
    return all(p.step is not None for s in series for p in _points(s))


def _place(point: Point, by_step: bool, phase: int) -> tuple[int, int]:
    step = _x(point, by_step)
    return (step + 1 if phase == EVAL else step), phase


def _x(point: Point, by_step: bool) -> int:
    x = point.step if by_step else point.epoch
    return int(round(x)) if x is not None else 0


def _points(series: Series | None) -> list[Point]:
    if series is None:
        return []
    return [p for p in series.points if p.step is not None or p.epoch is not None]


def _thinned(points: list[Point], limit: int) -> list[Point]:
    """At most ``limit`` points: runs of consecutive ones averaged, at the first one's place."""
    size = math.ceil(len(points) / limit)
    if size <= 1:
        return points
    runs = [points[start:start + size] for start in range(0, len(points), size)]
    return [Point(run[0].step, run[0].epoch, sum(p.value for p in run) / len(run))
            for run in runs]
