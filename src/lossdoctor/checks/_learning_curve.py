"""A learning-curve replay: the user's setup trained for the same steps on half of its training
rows and on all of them (the shared baseline replay), both judged on the validation rows.

A model short of data learns clearly more from twice the rows: the point of a learning curve
(validation loss against training-set size) is that where it still falls steeply, more data is
what helps. A run with enough rows for its model is on the flat end: half of them reach about
the same validation loss in the same steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import take_rows
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.curve_stats import noise
from lossdoctor.experiments import Plan, Replayer, ReplayResult
from lossdoctor.findings import Skip


@dataclass
class LearningCurve:
    half_rows: int
    all_rows: int
    half_best: float  # the best validation loss of the replay on half the training rows
    all_best: float  # ... and on all of them
    noise: float  # the pass-to-pass noise of the two replays' validation curves, the larger
    all_train_end: float  # the training loss at the end of the replay on all the rows

    @property
    def gain(self) -> float:
        """How much lower the validation loss gets with all the training rows than with half."""
        return self.half_best - self.all_best


def learning_curve(case) -> LearningCurve:
    """Both replays (Skip when no replay can run: no copies, as for a run read from its logs,
    --budget 0, no time left)."""
    require = getattr(case, "require_replay", None)
    if require is None:
        raise Skip("needs copies of the model, loss and batches: a run read from its logs")
    replayer = require()
    full = case.baseline
    half_batches = half_of(replayer.train_batches)
    half = replay_on(replayer, half_batches)
    return LearningCurve(
        half_rows=sum(b.scored_rows for b in half_batches),
        all_rows=sum(b.scored_rows for b in replayer.train_batches),
        half_best=half.best_validation, all_best=full.best_validation,
        noise=max(noise(_finite(half)), noise(_finite(full))),
        all_train_end=_train_end(full),
    )


def half_of(batches: list[Batch]) -> list[Batch]:
    """Half the training rows at the same batch size: every other batch; a single batch cut to
    its first half of rows (full-batch training on either, as the run's single batch was)."""
    if len(batches) >= 2:
        return batches[::2]
    return [_first_rows(batch, max(batch.scored_rows // 2, 1)) for batch in batches]


def _first_rows(batch: Batch, rows: int) -> Batch:
    if batch.selection is not None:  # a graph's nodes: the first of those the loss scores
        return replace(batch, selection=batch.selection[:rows], keys=[])
    index = list(range(rows))
    return Batch(*(take_rows(part, index, batch.rows)
                   for part in (batch.args, batch.kwargs, batch.target)),
                 rows, batch.keys[:rows], batch.step)


def replay_on(replayer: Replayer, batches: list[Batch], model=None) -> ReplayResult:
    """The baseline's replay (same steps, seed and schedule) on ``batches`` instead; of
    ``model`` (trained in place) when given, else of a copy of the user's initial model."""
    kept = replayer.train_batches
    replayer.train_batches = batches
    try:
        return replayer.replay(Plan(model=model, steps=REPLAY_STEPS))
    finally:
        replayer.train_batches = kept


def _finite(result: ReplayResult) -> list[float]:
    return [v for v in result.validation_losses if math.isfinite(v)]


def _train_end(result: ReplayResult) -> float:
    """The mean training loss over the last tenth of the replay's steps."""
    losses = result.train_losses[-max(len(result.train_losses) // 10, 1):]
    return sum(losses) / len(losses) if losses else float("nan")
