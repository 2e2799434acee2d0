"""Fault operators: small changes to a program, each with the cause id it plants.

In the spirit of mutation testing for deep-learning programs (DeepCrime, Humbatova et al.,
ISSTA 2021): each operator is one realistic mistake. An operator may first *set up* the
program so the mistake can happen (give the model dropout before validating without
`model.eval()`, give the targets large units before forgetting to scale them); the healthy
twin is the set-up program, the broken case is the twin with the fault applied.

Operators register themselves with `@operator(...)`; the modules `faults_*` hold them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .program import Program

Change = Callable[[Program, random.Random], Program]

CAUSES = (
    "no_signal", "underfit_capacity", "unnormalized_inputs", "lr_too_high", "lr_too_low",
    "saturated_activation", "unscaled_targets", "batch_size", "over_regularized",
    "optimizer_choice", "vanishing_gradients", "exploding_gradients", "dead_relu",
    "loss_mismatch", "shape_broadcast", "frozen_params", "missing_zero_grad", "train_eval_mode",
    "data_pipeline", "label_range", "class_imbalance", "train_val_shift", "overfitting",
    "bad_init", "nan_inf", "lr_schedule",
)


def _unchanged(program: Program, rng: random.Random) -> Program:
    return program


def _always(program: Program) -> bool:
    return True


@dataclass(frozen=True)
class Operator:
    name: str
    cause: str
    description: str
    fault: Change
    applies: Callable[[Program], bool] = _always
    setup: Change = _unchanged
    also: tuple[str, ...] = ()  # other cause ids a correct diagnosis may name

    @property
    def expected(self) -> tuple[str, ...]:
        return (self.cause, *self.also)

    @property
    def set_up(self) -> str:
        """What the set-up gives twin and broken case alike, in a few words ("" for none)."""
        return "" if self.setup is _unchanged else (self.setup.__doc__ or "").strip()


REGISTRY: dict[str, Operator] = {}


def operator(cause: str, description: str, applies: Callable[[Program], bool] = _always,
             setup: Change = _unchanged, also: tuple[str, ...] = ()) -> Callable[[Change], Change]:
    """Register the decorated function as the fault of an operator named after it."""
    if cause not in CAUSES:
        raise ValueError(f"unknown cause id {cause!r}")

    def register(fault: Change) -> Change:
        if fault.__name__ in REGISTRY:
            raise ValueError(f"two operators named {fault.__name__}")
        REGISTRY[fault.__name__] = Operator(fault.__name__, cause, description, fault, applies,
                                            setup, also)
        return fault

    return register


def all_operators() -> list[Operator]:
    """Every operator, in a fixed order (by cause, then name)."""
    from . import (  # noqa: F401  (they register)
        faults_cast,
        faults_clamp,
        faults_data,
        faults_dropout_calls,
        faults_model,
        faults_multilabel,
        faults_pairs,
        faults_replay,
        faults_scale,
        faults_sched,
        faults_targets,
        faults_training,
        faults_units,
    )

    return sorted(REGISTRY.values(), key=lambda op: (CAUSES.index(op.cause), op.name))


def by_cause() -> dict[str, list[Operator]]:
    grouped: dict[str, list[Operator]] = {cause: [] for cause in CAUSES}
    for op in all_operators():
        grouped[op.cause].append(op)
    return grouped


# Predicates the operators' `applies` combine.
def classification(p: Program) -> bool:
    return p.data.task != "regression"


def regression(p: Program) -> bool:
    return p.data.task == "regression"


def has_val(p: Program) -> bool:
    return p.data.has_val


def float_inputs(p: Program) -> bool:
    return p.data.float_inputs


def torch_module(p: Program) -> bool:
    """The model is an `nn.Module` (it has train/eval modes and `.parameters()`)."""
    return p.model.style != "raw"


def family(*names: str) -> Callable[[Program], bool]:
    return lambda p: p.model.family in names


def every(*tests: Callable[[Program], bool]) -> Callable[[Program], bool]:
    return lambda p: all(test(p) for test in tests)
