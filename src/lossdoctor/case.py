"""Everything a check may look at: the trace, the copies, and shared experiments on them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from torch import nn

from lossdoctor.blow_up import blow_up_start, without_blow_up_rows
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.loss_terms import summed_run
from lossdoctor.constant_guess import (
    constant_guess_loss,
    fit_constant,
    loss_floor,
    loss_settings,
    targets_of,
)
from lossdoctor.constant_head import constant_head
from lossdoctor.experiments import Plan, Replayer, ReplayResult
from lossdoctor.findings import Skip
from lossdoctor.lr_schedule import LrSchedule
from lossdoctor.trace import Trace

#: Steps of the shared baseline replay; counterfactual runs use the same number to compare.
REPLAY_STEPS = 300

T = TypeVar("T")


#: Why a check that compares with a validation loss did not run: no validation rows could be
#: replayed, and too few training batches (or rows that cannot be cut apart) to hold some out.
NO_VALIDATION_ROWS = "needs validation batches, or at least 5 training batches to hold out"


@dataclass
class Case:
    trace: Trace
    copies: Copies
    experiments: bool = True  # False: no training on copies (--budget 0)
    #: Whether the run's curves show the symptom (lossdoctor.symptom); None where it was not
    #: read (a Case built by a test or the Python API).
    curves_show_symptom: bool | None = None
    _shared: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.copies.settle_chain()  # a model of two modules is replayed as one

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """A result several checks use (e.g. the learners' contest on the labels), computed
        once per case. A Skip or error is not kept: the next caller meets it again."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    @cached_property
    def replayer(self) -> Replayer:
        """Replays on the captured batches; after a blow-up, without the NaN/inf rows it fed
        back into the model (lossdoctor.blow_up)."""
        copies = self.copies
        start = blow_up_start(self.trace.step_losses())
        if start is not None:
            copies = without_blow_up_rows(copies, start)
        return Replayer(copies, LrSchedule.of(self.trace.setup, self.trace.steps),
                        self.experiments)

    def require_replay(self) -> Replayer:
        """The replayer, or Skip with what is missing, so the check says why it did not run."""
        replayer = self.replayer
        if self.copies.replay_problem:
            raise Skip(self.copies.replay_problem)
        if self.copies.initial_model is None and self.copies.model_problem:
            raise Skip(self.copies.model_problem)
        if self.copies.initial_model is not None and self.copies.optimizer_problem:
            raise Skip(self.copies.optimizer_problem)
        if self.copies.initial_model is None or self.copies.optimizer_class is None:
            raise Skip("needs an optimizer step on a model: none was seen")
        if self.copies.replay_loss is None:
            raise Skip(self.copies.loss_problem or "needs the training loss: none was seen")
        if not replayer.train_batches:
            raise Skip("needs training batches paired with their targets")
        if not replayer.validation_batches:
            raise Skip(NO_VALIDATION_ROWS)
        return replayer

    @cached_property
    def baseline(self) -> ReplayResult:
        """The user's own setup, replayed on the captured batches: what fixes are compared to."""
        return self.require_replay().replay(Plan(steps=REPLAY_STEPS))

    def run_best_validation(self) -> float:
        """The run's own best validation loss; when the run had none, the best of its setup
        replayed for as many steps as it took (``run_length_steps``)."""
        passes = [p.loss for p in self.trace.validation_passes() if math.isfinite(p.loss)]
        if passes and self.copies.validation.batches:
            return min(passes)
        return self.baseline_for(self.run_length_steps).best_validation

    @property
    def run_length_steps(self) -> int:
        """REPLAY_STEPS, or the run's own optimizer steps when it took fewer and had no
        validation pass: such a run has no level of its own but where its setup gets in its
        steps (its schedule fitted to them, as the run had it). A run of 40 steps gets where 40
        steps get, not where 300 would have taken it."""
        steps = self.trace.steps
        has_passes = any(math.isfinite(p.loss) for p in self.trace.validation_passes())
        return steps if 0 < steps < REPLAY_STEPS and not has_passes else REPLAY_STEPS

    def baseline_for(self, steps: int) -> ReplayResult:
        """The user's setup replayed for ``steps`` steps, once per case and length."""
        if steps == REPLAY_STEPS:
            return self.baseline
        return self.shared(f"baseline.{steps}",
                           lambda: self.require_replay().replay(Plan(steps=steps)))

    def constant_guess_loss(self, split: str) -> float | None:
        """The loss of the best input-free prediction on the "training" or "validation"
        batches, in the user's loss (see :mod:`lossdoctor.constant_guess`); None when it cannot
        be had (nothing captured, or a loss that rejects a constant prediction)."""
        return self.shared(f"constant_guess.{split}", lambda: self._constant_guess_loss(split))

    def _constant_guess_loss(self, split: str) -> float | None:
        replayer, setup = self.replayer, self.trace.setup
        batches = replayer.train_batches if split == "training" else replayer.validation_batches
        if not batches:
            return None
        if summed_run(setup):  # one term's loss on one term's target is not the run's loss,
            return None  # and a constant model gives one output where the loss reads several
        return constant_guess_loss(
            setup.loss_name, loss_settings(self.copies.loss_fn, setup.loss_kwargs),
            targets_of(replayer.train_batches), targets_of(batches),
            fit=lambda: self._fitted_constant_guess_loss(batches),
        )

    def loss_floor(self) -> float | None:
        """The least the user's loss can reach on the validation batches (the training ones
        without them), when it is known and above 0: soft targets' own entropy
        (:func:`lossdoctor.constant_guess.loss_floor`)."""
        return self.shared("constant_guess.floor", self._loss_floor)

    def _loss_floor(self) -> float | None:
        replayer, setup = self.replayer, self.trace.setup
        batches = replayer.validation_batches or replayer.train_batches
        if not batches or summed_run(setup):
            return None
        floor = loss_floor(setup.loss_name, loss_settings(self.copies.loss_fn, setup.loss_kwargs),
                           targets_of(batches))
        return floor if floor is not None and floor > 0 else None

    def _fitted_constant_guess_loss(self, batches) -> float | None:
        try:
            constant = self._fitted_constant
            return None if constant is None else self.replayer.evaluate(constant, batches)
        except Exception:  # noqa: BLE001 - no reference is no harm: callers do without
            return None

    @cached_property
    def _fitted_constant(self) -> nn.Module | None:
        """A constant model scored by the user's loss; when the model computes its loss itself,
        the user's model with its output layer reduced to a fitted bias (constant_head.py)."""
        replayer = self.require_replay()
        if not replayer.scores_any_prediction:
            return constant_head(replayer)
        return fit_constant(replayer, self.trace.setup.loss_name)
