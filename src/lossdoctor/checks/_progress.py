"""How far the run's training loss got: from its start to its end, against a constant guess."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Without a constant guess to compare with, a loss that fell by less than a tenth did not move.
STALLED_DROP = 0.1


@dataclass
class TrainingProgress:
    start: float  # mean training loss over the first tenth of the steps
    end: float  # ... and over the last tenth
    constant_guess: float | None  # the training loss of the best input-free prediction

    @property
    def stuck(self) -> bool:
        """No better than a constant guess; without one, fell by less than STALLED_DROP."""
        if self.constant_guess is not None:
            return self.end >= self.constant_guess
        return self.end >= (1 - STALLED_DROP) * self.start


def training_progress(case) -> TrainingProgress | None:
    """The run's progress, or None with fewer than two finite training steps."""
    losses = [v for _, v in case.trace.step_losses() if math.isfinite(v)]
    if len(losses) < 2:
        return None
    span = max(len(losses) // 10, 1)
    start, end = losses[:span], losses[-span:]
    guess = case.constant_guess_loss("training")
    return TrainingProgress(sum(start) / span, sum(end) / span, guess)
