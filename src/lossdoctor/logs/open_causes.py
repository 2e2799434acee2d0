"""What the curves cannot tell apart: for each symptom, the causes (stable ids of the checks'
catalogue) that all draw that same curve, grouped by where they sit. Telling them apart takes
the model, the data and experiments on copies, which only `lossdoctor run` has."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenGroup:
    where: str
    ids: tuple[str, ...]


#: A loss that does not move: whatever stops the learning leaves the same flat line.
FLAT = (
    OpenGroup("the data and labels", ("no_signal", "data_pipeline", "label_range",
                                      "class_imbalance", "train_val_shift")),
    OpenGroup("how the loss is computed", ("loss_mismatch", "shape_broadcast",
                                           "validation_path", "train_eval_mode")),
    OpenGroup("the optimization", ("lr_too_low", "lr_too_high", "lr_schedule",
                                   "optimizer_choice", "missing_zero_grad", "frozen_params")),
    OpenGroup("the model and its inputs", ("bad_init", "dead_relu", "saturated_activation",
                                           "vanishing_gradients", "unnormalized_inputs",
                                           "unscaled_targets", "underfit_capacity",
                                           "over_regularized")),
)
#: A loss that blows up: too large a step, or numbers too large for the model.
DIVERGING = (
    OpenGroup("the optimization", ("lr_too_high", "lr_schedule", "exploding_gradients",
                                   "missing_zero_grad")),
    OpenGroup("the numbers fed in", ("nan_inf", "unnormalized_inputs", "unscaled_targets",
                                     "label_range", "bad_init", "loss_mismatch")),
)
#: A loss that swings without progress: a noisy or too large step, or batches unlike each other.
OSCILLATING = (
    OpenGroup("the optimization", ("lr_too_high", "lr_schedule", "batch_size",
                                   "optimizer_choice", "exploding_gradients")),
    OpenGroup("the data", ("data_pipeline", "validation_path", "train_eval_mode")),
)
BY_SYMPTOM = {"at_chance": FLAT, "near_chance": FLAT, "stalled": FLAT, "diverging": DIVERGING,
              "oscillating": OSCILLATING}


def open_groups(symptom_kind: str | None, found: set[str]) -> list[OpenGroup]:
    """The groups for the symptom, without the causes the curves already showed."""
    groups = [OpenGroup(g.where, tuple(i for i in g.ids if i not in found))
              for g in BY_SYMPTOM.get(symptom_kind or "", ())]
    return [g for g in groups if g.ids]
