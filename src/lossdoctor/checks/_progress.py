"""How far the run's training loss got: from its start to its end, against a constant guess."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from lossdoctor import symptom

#: Without a constant guess to compare with, a loss that fell by less than a tenth did not move.
STALLED_DROP = 0.1
#: "No better than a constant guess" means not significantly below it: the last tenth's mean
#: must beat the guess by this many standard errors (one-sided 95%, as the curve verdict's
#: at-chance rule) to count as progress. Minibatch noise alone puts a run that never learned a
#: little below or above the guess at random (a deep tanh stack of the development set ended
#: 0.25% below its guess, 0.4 standard errors).
NOISE_Z = 1.645
#: A training loss that ended below the guess by less than this share of it learned next to
#: nothing: the symptom's bar for a run "barely below a constant guess" (symptom.py), so that a
#: run not called healthy for it is one whose stuck-loss causes are tested as stuck (dev 30276:
#: a ReLU layer 75% dead from the first step, the loss 0.4% below the guess but 2 standard
#: errors below it, was not stuck, and the run was left unexplained).
NEAR_CHANCE_SHARE = symptom.NEAR_CHANCE_SHARE


@dataclass
class TrainingProgress:
    start: float  # mean training loss over the first tenth of the steps
    end: float  # ... and over the last tenth
    constant_guess: float | None  # the training loss of the best input-free prediction
    end_error: float = 0.0  # standard error of ``end`` (the last tenth's minibatch spread)

    @property
    def stuck(self) -> bool:
        """No better than a constant guess (not below it by NOISE_Z standard errors of the
        end) or barely below it (by less than NEAR_CHANCE_SHARE of it); without one, fell by
        less than STALLED_DROP."""
        if self.constant_guess is not None:
            guess = self.constant_guess
            return self.end >= min(guess - NOISE_Z * self.end_error,
                                   (1 - NEAR_CHANCE_SHARE) * guess)
        return self.end >= (1 - STALLED_DROP) * self.start

    @property
    def beside_guess(self) -> str:
        """How the end compares with the constant guess, in words: "no better than", "worse
        than" or "only 3.2% below"."""
        guess = self.constant_guess
        if guess is None or guess <= 0:
            return "no better than"
        if self.worse_than_guess:
            return "worse than"
        share = 1 - self.end / guess
        if share < 0.0005:  # what rounds to "0.0%" would read as a slip
            return "no better than"
        return f"only {share:.1%} below"


    @property
    def worse_than_guess(self) -> bool:
        """Above the constant guess beyond the noise and by more than NEAR_CHANCE_SHARE of it,
        the same bars as below it (example_2_unnormalized: a loss of 51.6 read "no better than
        the 0.692 of always predicting the same answer", as if the two were about equal)."""
        guess = self.constant_guess
        return guess is not None and self.end > max(guess + NOISE_Z * self.end_error,
                                                     (1 + NEAR_CHANCE_SHARE) * guess)


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
