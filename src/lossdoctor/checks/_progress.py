"""How far the run's training loss got: from its start to its end, against a constant guess."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

#: Without a constant guess to compare with, a loss that fell by less than a tenth did not move.
STALLED_DROP = 0.1
#: "No better than a constant guess" means not significantly below it: the last tenth's mean
#: must beat the guess by this many standard errors (one-sided 95%, as the curve verdict's
#: at-chance rule) to count as progress. Minibatch noise alone puts a run that never learned a
#: little below or above the guess at random (a deep tanh stack of the development set ended
#: 0.25% below its guess, 0.4 standard errors).
NOISE_Z = 1.645


@dataclass
class TrainingProgress:
    start: float  # mean training loss over the first tenth of the steps
    end: float  # ... and over the last tenth
    constant_guess: float | None  # the training loss of the best input-free prediction
    end_error: float = 0.0  # standard error of ``end`` (the last tenth's minibatch spread)

    @property
    def stuck(self) -> bool:
        """No better than a constant guess (not below it by NOISE_Z standard errors of the
        end); without one, fell by less than STALLED_DROP."""
        if self.constant_guess is not None:
            return self.end >= self.constant_guess - NOISE_Z * self.end_error
        return self.end >= (1 - STALLED_DROP) * self.start


def training_progress(case) -> TrainingProgress | None:
    """The run's progress, or None with fewer than two finite training steps."""
    losses = [v for _, v in case.trace.step_losses() if math.isfinite(v)]
    if len(losses) < 2:
        return None
    span = max(len(losses) // 10, 1)
    start, end = losses[:span], losses[-span:]
    guess = case.constant_guess_loss("training")
    return TrainingProgress(sum(start) / span, sum(end) / span, guess, standard_error(end))


def standard_error(values: list[float]) -> float:
    """The standard error of the mean of ``values`` (0 for fewer than two)."""
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
