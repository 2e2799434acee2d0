"""over_regularized: weight decay or dropout so strong that the model cannot fit its data.

A differential test on copies: the user's setup is replayed on the captured batches with the
regularization taken away (weight decay divided by 100, every dropout layer off), everything
else the same, and compared with the replay of the user's own setup. Two things must hold:

1. The validation loss falls clearly once the regularization is gone.
2. With it, the model fits its training data far worse: it gets less than two thirds of the way
   from the constant guess (the best input-free prediction) to where the model gets without it.
   Regularization that only trades a little training fit for generalization (dropout 0.1-0.5
   on a model that fits) keeps most of that way.

The training fit is measured in eval mode on the training batches after each replay: losses
taken in train mode include the dropout's own noise, which taking dropout away removes trivially.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._fix import fix_experiment, helped, improvement, relative_drop, settled_loss
from lossdoctor.checks._plain import plain_number
from lossdoctor.experiments import Plan, ReplayResult
from lossdoctor.findings import Cause, Experiment, Finding

OVER_REGULARIZED = Cause(
    id="over_regularized",
    title="Regularization is too strong",
    fix="Lower the weight decay or the dropout rate.",
    question="Is weight decay or dropout holding the fit back?",
    test=(
        "replay with weight decay /100 and dropout off; reported when training and validation "
        "both improve"
    ),
    # regularization that holds the fit back makes the model look too small: with dropout 0.8
    # over_regularized_dropout_cnn read "The model is too small for the task" beside "with
    # dropout off, the same model's validation loss falls from 1.39 to 0.0138"
    explains={"underfit_capacity"},
)

CAUSES = (OVER_REGULARIZED,)


#: Weight decay in the replay: the user's divided by this, two orders of magnitude, well below
#: any decay that could hold a model back and still a decay (AdamW's default stays "on").
WEIGHT_DECAY_DIVISOR = 100.0
#: Regularization "holds the model back" when, with it, the training fit makes less than this
#: share of the progress beyond the constant guess that it makes without it: it costs more than
#: a third of what the model can learn, far more than the few percent usual dropout costs.
HELD_BACK_SHARE = 2 / 3
#: Dropout up to this rate is the usual light setting (the default of PyTorch's Transformer
#: layers): it is not what holds a model back, and replaying without it only costs time.
LIGHT_DROPOUT = 0.1
#: Decoupled weight decay (AdamW) and SGD's shrink the weights by lr x decay each step; when that
#: adds up to less than this over a whole replay, the decay cannot hold the model back.
NEGLIGIBLE_SHRINK = 0.05
DROPOUT_LAYERS = (
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)


@dataclass
class Regularization:
    """What regularizes the user's training."""

    weight_decay: float
    dropout: dict[str, float]  # layer name -> drop probability, for layers with p > 0

    @property
    def present(self) -> bool:
        return self.weight_decay > 0 or bool(self.dropout)

    @property
    def strongest_dropout(self) -> float:
        return max(self.dropout.values(), default=0.0)


@dataclass
class Fit:
    """Where one replay ended: its training fit (eval mode) and its validation loss."""

    train: float
    validation: float
    replay: ReplayResult


def check(case) -> list[Finding]:
    """``over_regularized`` when taking weight decay and dropout away makes the model fit its
    training data and its validation data clearly better."""
    replayer = case.require_replay()
    regularization = regularization_of(case)
    if not regularization.present:
        return []
    after = _fit(replayer, without_dropout(replayer.copies.initial_model),
                 {"weight_decay": regularization.weight_decay / WEIGHT_DECAY_DIVISOR})
    if not helped(_experiment(regularization, case.baseline, after.replay), case):
        return []
    before = _fit(replayer, copy.deepcopy(replayer.copies.initial_model), {})
    reference = _reference_loss(case, replayer)
    if progress_share(before.train, after.train, reference) >= HELD_BACK_SHARE:
        return []
    return [_finding(regularization, before, after, reference)]


def regularization_of(case) -> Regularization:
    """The weight decay and dropout that could matter (light settings count as none)."""
    hparams = case.copies.optimizer_hparams
    decay = _number(hparams.get("weight_decay"))
    if _shrinks_directly(case.copies.optimizer_class) and (
        _number(case.replayer.user_lr) * decay * REPLAY_STEPS < NEGLIGIBLE_SHRINK
    ):
        decay = 0.0
    dropout = {name: p for name, p in dropout_rates(case.copies.initial_model).items()
               if p > LIGHT_DROPOUT}
    return Regularization(decay, dropout)


def _shrinks_directly(optimizer_class) -> bool:
    """Optimizers whose decay shrinks each weight by lr x decay per step, whatever the gradient
    (Adam's coupled L2 term is rescaled with the gradient instead)."""
    return optimizer_class in (torch.optim.SGD, torch.optim.AdamW)


def _number(value) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def dropout_rates(model: nn.Module) -> dict[str, float]:
    """Drop probability of each dropout layer (and attention dropout) that drops anything."""
    rates = {}
    for name, module in model.named_modules():
        p = _drop_probability(module)
        if p > 0:
            rates[name or type(module).__name__] = p
    return rates


def _drop_probability(module: nn.Module) -> float:
    if isinstance(module, DROPOUT_LAYERS):
        return float(module.p)
    if isinstance(module, nn.MultiheadAttention):
        return float(module.dropout)
    return 0.0


def without_dropout(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose dropout layers drop nothing."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, DROPOUT_LAYERS):
            module.p = 0.0
        elif isinstance(module, nn.MultiheadAttention):
            module.dropout = 0.0
    return model


def _fit(replayer, model: nn.Module, hparams: dict) -> Fit:
    replay = replayer.replay(Plan(model=model, hparams=hparams, steps=REPLAY_STEPS))
    train = replayer.evaluate(model, replayer.train_batches) if not replay.diverged else math.inf
    return Fit(train, settled_loss(replay), replay)


def _reference_loss(case, replayer) -> float:
    """The constant guess's training loss, else the untrained model's."""
    guess = case.constant_guess_loss("training")
    if guess is not None:
        return guess
    return replayer.evaluate(replayer.copies.initial_model, replayer.train_batches)


def progress_share(regularized: float, free: float, reference: float) -> float:
    """How much of the way from ``reference`` down to ``free`` the ``regularized`` fit got."""
    if not (math.isfinite(regularized) and math.isfinite(free)) or reference <= free:
        return 1.0
    return (reference - regularized) / (reference - free)


# --- finding ---------------------------------------------------------------------------------


def _finding(regularization: Regularization, before: Fit, after: Fit, reference: float
             ) -> Finding:
    share = max(progress_share(before.train, after.train, reference), 0.0)
    experiment = _experiment(regularization, before.replay, after.replay)
    strength = min(improvement(experiment) / 0.5, 1.0)
    return Finding(
        OVER_REGULARIZED,
        confidence=0.6 + 0.2 * strength + 0.15 * (1 - share / HELD_BACK_SHARE),
        verdict=_verdict(regularization, before, after),
        evidence=_evidence(regularization, before, after) | {
            "constant_guess_train_loss": reference, "progress_share": share},
        fix=_fix(regularization),
        experiment=experiment,
    )


def _experiment(regularization: Regularization, before: ReplayResult, after: ReplayResult
                ) -> Experiment:
    return fix_experiment(_what_was_taken_away(regularization), before, after)


def _settings(regularization: Regularization) -> str:
    parts = []
    if regularization.weight_decay > 0:
        parts.append(f"weight decay {plain_number(regularization.weight_decay)}")
    if regularization.dropout:
        count = len(regularization.dropout)
        parts.append(f"dropout up to {regularization.strongest_dropout:.2g} in {count} "
                     f"{'layer' if count == 1 else 'layers'}")
    return " and ".join(parts)


def _what_was_taken_away(regularization: Regularization) -> str:
    parts = []
    if regularization.weight_decay > 0:
        lowered = regularization.weight_decay / WEIGHT_DECAY_DIVISOR
        parts.append(f"weight decay {plain_number(lowered)} instead of "
                     f"{plain_number(regularization.weight_decay)}")
    if regularization.dropout:
        parts.append("dropout off")
    return ", ".join(parts)


def _verdict(regularization: Regularization, before: Fit, after: Fit) -> str:
    steps = after.replay.planned_steps or REPLAY_STEPS
    return (
        f"Your regularization ({_settings(regularization)}) holds the model back: replayed "
        f"{steps} steps with {_what_was_taken_away(regularization)}, its loss on the training "
        f"data falls from {before.train:.3g} to {after.train:.3g} and the validation loss "
        f"from {before.validation:.3g} to {after.validation:.3g}. It keeps the model from "
        "fitting the data, not just from overfitting it."
    )


def _evidence(regularization: Regularization, before: Fit, after: Fit) -> dict[str, float]:
    evidence = {
        "weight_decay": regularization.weight_decay,
        "replayed_weight_decay": regularization.weight_decay / WEIGHT_DECAY_DIVISOR,
        "strongest_dropout": regularization.strongest_dropout,
        "dropout_layers": float(len(regularization.dropout)),
        "train_loss_before": before.train,
        "train_loss_after": after.train,
        "val_before": before.validation,
        "val_after": after.validation,
        "train_improvement": relative_drop(before.train, after.train),
        "improvement": relative_drop(before.validation, after.validation),
    }
    return {name: value for name, value in evidence.items() if math.isfinite(value)}


def _fix(regularization: Regularization) -> str:
    steps = []
    if regularization.weight_decay > 0:
        steps.append(f"lower the weight decay from {plain_number(regularization.weight_decay)} "
                     "(try a tenth to a hundredth of it)")
    if regularization.dropout:
        steps.append(f"lower the dropout from {regularization.strongest_dropout:.2g} (0.1-0.3 is "
                     "usual; start without it)")
    return f"{' and '.join(steps).capitalize()}, then add regularization back only as far as " \
        "the validation loss keeps improving."
