"""Everything a check may look at: the trace, the copies, and shared experiments on them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from lossdoctor.capture.copies import Copies
from lossdoctor.constant_guess import ConstantGuess, fit_constant_guess
from lossdoctor.experiments import Plan, Replayer, ReplayResult
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace

#: Steps of the shared baseline replay; counterfactual runs use the same number to compare.
REPLAY_STEPS = 300

T = TypeVar("T")


@dataclass
class Case:
    trace: Trace
    copies: Copies
    _shared: dict = field(default_factory=dict, init=False, repr=False)

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """A result several checks use (e.g. the learners' contest on the labels), computed
        once per case. A Skip or error is not kept: the next caller meets it again."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    @cached_property
    def replayer(self) -> Replayer:
        return Replayer(self.copies)

    def require_replay(self) -> Replayer:
        """The replayer, or Skip with what is missing, so the check says why it did not run."""
        replayer = self.replayer
        if self.copies.initial_model is None or self.copies.optimizer_class is None:
            raise Skip("needs an optimizer step on a model: none was seen")
        if self.copies.loss_fn is None:
            raise Skip("needs a training loss from torch.nn or torch.nn.functional")
        if not replayer.train_batches:
            raise Skip("needs training batches paired with their targets")
        if not replayer.validation_batches:
            raise Skip("needs validation batches, or at least 5 training batches to hold out")
        return replayer

    @cached_property
    def baseline(self) -> ReplayResult:
        """The user's own setup, replayed on the captured batches: what fixes are compared to."""
        return self.require_replay().replay(Plan(steps=REPLAY_STEPS))

    def constant_guess_loss(self, split: str) -> float | None:
        """The constant guess's "training" or "validation" loss; None when it cannot be had
        (nothing to replay, or a loss that rejects a constant prediction)."""
        try:
            guess = self.constant_guess
        except Exception:  # noqa: BLE001 - no reference is no harm: callers fall back
            return None
        loss = guess.training_loss if split == "training" else guess.validation_loss
        return loss if math.isfinite(loss) else None

    @cached_property
    def constant_guess(self) -> ConstantGuess:
        """The best input-free prediction's training and validation loss, in the user's loss."""
        return fit_constant_guess(self.require_replay(), self.trace.setup.loss_name)
