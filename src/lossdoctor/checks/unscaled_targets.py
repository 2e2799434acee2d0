"""unscaled_targets: regression targets far from unit scale (prices in the hundreds of
thousands, say) and a model that never gets past predicting about their mean. Tested by
replaying the training with standardized targets, scored in the user's original units."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from lossdoctor.capture.tensors import first_tensor
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._features import LARGE_SCALE
from lossdoctor.checks._fix import fix_experiment, helped, improvement
from lossdoctor.checks._plain import plain_number
from lossdoctor.experiments import Plan
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.losses import REGRESSION, loss_kind

UNSCALED_TARGETS = Cause(
    id="unscaled_targets",
    title="The regression targets are not scaled",
    fix=(
        "Standardize the regression targets with their training mean and standard deviation, and "
        "undo it on the predictions."
    ),
    question="Are regression targets far from unit scale?",
    test="target statistics; replay on standardized targets, scored back in your units",
    explains={"batch_size", "lr_too_low", "optimizer_choice", "underfit_capacity", "nan_inf"},
)

CAUSES = (UNSCALED_TARGETS,)


#: A run whose best validation loss is above this fraction of the constant guess's has learned
#: little beyond the mean: a model that fits any of the signal ends far below the constant.
STUCK_FRACTION = 0.5


@dataclass
class TargetScale:
    mean: float
    std: float

    @property
    def size(self) -> float:
        """Root mean square of the targets: how far from 0 the outputs must reach."""
        return math.hypot(self.mean, self.std)


def check(case) -> list[Finding]:
    kind = loss_kind(case.trace.setup.loss_name)
    if kind is None:
        raise Skip("needs a loss whose task is known (MSE, L1, Huber, cross-entropy, ...)")
    if kind.task != REGRESSION:
        return []
    scale = target_scale(case.require_replay().train_batches)
    if scale.size < LARGE_SCALE or scale.std == 0:
        return []
    constant = case.constant_guess_loss("validation")
    user = case.run_best_validation()
    if constant is None or user < STUCK_FRACTION * constant:
        return []
    experiment = _standardized_experiment(case, scale)
    return [_finding(scale, constant, user, experiment)]


def target_scale(batches) -> TargetScale:
    targets = [b.target for b in batches if isinstance(b.target, torch.Tensor)]
    if not targets or not all(t.is_floating_point() for t in targets):
        raise Skip("needs regression targets given as float tensors")
    values = torch.cat([t.detach().reshape(-1).double() for t in targets])
    return TargetScale(float(values.mean()), float(values.std()))



class _Unstandardized(nn.Module):
    """A model trained on standardized targets. In eval mode, where a replay scores it, its
    predictions are turned back into the original units."""

    def __init__(self, model: nn.Module, scale: TargetScale) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, *args, **kwargs) -> torch.Tensor:
        output = first_tensor(self.model(*args, **kwargs))
        return output if self.training else output * self.scale.std + self.scale.mean


def _standardized_experiment(case, scale: TargetScale) -> Experiment:
    """Train a copy on standardized training targets; score it on the validation targets as
    they are, so both replays' losses are in the user's units."""
    validation = {id(b) for b in case.replayer.validation_batches}

    def standardize(batch):
        if id(batch) in validation:
            return batch
        return replace(batch, target=(batch.target - scale.mean) / scale.std)

    model = _Unstandardized(copy.deepcopy(case.copies.initial_model), scale)
    result = case.replayer.replay(Plan(model=model, transform=standardize, steps=REPLAY_STEPS))
    return fix_experiment("standardize targets (loss in original units)", case.baseline, result)


def _confidence(experiment: Experiment) -> float:
    if helped(experiment):
        return 0.65 + 0.3 * min(improvement(experiment) / 0.5, 1.0)
    return 0.3


def _finding(scale: TargetScale, constant: float, user: float, experiment) -> Finding:
    verdict = (
        f"Your regression targets are large (mean {plain_number(scale.mean)}, std "
        f"{plain_number(scale.std)}), and your model's best validation loss "
        f"({plain_number(user)}) is no better than always predicting the training average "
        f"({plain_number(constant)}): its outputs start near 0 and move too slowly to reach the "
        "targets. "
    )
    verdict += _describe(experiment)
    evidence = {
        "target_mean": scale.mean,
        "target_std": scale.std,
        "user_validation_loss": user,
        "constant_guess_validation_loss": constant,
        "val_loss_before": experiment.before,
        "val_loss_after": experiment.after,
    }
    return Finding(UNSCALED_TARGETS, _confidence(experiment), verdict, evidence,
                   experiment=experiment)


def _describe(experiment: Experiment) -> str:
    before, after = plain_number(experiment.before), plain_number(experiment.after)
    if _confidence(experiment) >= 0.5:
        return (f"Standardizing the targets with the training mean and std took the validation "
                f"loss, in your original units, from {before} to {after} in a "
                f"{experiment.steps}-step replay of your training.")
    return (f"Yet standardizing them did not help in a {experiment.steps}-step replay "
            f"(validation loss {before} before, {after} after, in your units).")
