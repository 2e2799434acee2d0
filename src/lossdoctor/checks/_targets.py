"""Regression targets far from unit scale, and replays that standardize them (scored back in the
user's units), shared by unscaled_targets and unnormalized_inputs.

When the inputs and the targets are both far from unit scale, neither fix alone helps: a copy
given standardized inputs still has to reach targets in the hundreds of thousands, and one
trained on standardized targets still sees raw inputs (dev cases raw_inputs_and_targets of
s15-rank, 70001: inputs standardized 48,299 -> 49,483, targets standardized 48,299 -> 49,638).
Both checks then measure their fix on top of the other's: the copy with both standardized
against the copy with only the other one (``with_both``), each replay run once per case."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from lossdoctor.capture.replay_losses import ReturnedLoss
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._features import LARGE_SCALE, FeatureStats, feature_stats
from lossdoctor.experiments import Plan, ReplayResult, map_first_input
from lossdoctor.findings import Skip
from lossdoctor.losses import REGRESSION, alike, loss_kind
from lossdoctor.symptom import NEAR_CHANCE_SHARE


@dataclass
class TargetScale:
    mean: float
    std: float

    @property
    def size(self) -> float:
        """Root mean square of the targets: how far from 0 the outputs must reach."""
        return math.hypot(self.mean, self.std)

    @property
    def off_scale(self) -> bool:
        """Far from unit scale (the inputs' LARGE_SCALE), and not constant."""
        return self.size >= LARGE_SCALE and self.std > 0


def target_scale(batches) -> TargetScale:
    targets = [b.target for b in batches if isinstance(b.target, torch.Tensor)]
    if not targets or not all(t.is_floating_point() for t in targets):
        raise Skip("needs regression targets given as float tensors")
    values = torch.cat([t.detach().reshape(-1).double() for t in targets])
    return TargetScale(float(values.mean()), float(values.std()))


def off_scale_targets(case) -> TargetScale | None:
    """The regression targets' scale when they are off scale; None otherwise (not a regression
    loss, targets that are not float tensors, nothing to replay)."""
    kind = loss_kind(case.trace.setup.loss_name)
    if kind is None or kind.task != REGRESSION:
        return None
    try:
        scale = target_scale(case.require_replay().train_batches)
    except Skip:
        return None
    return scale if scale.off_scale else None


def off_scale_inputs(case) -> FeatureStats | None:
    """The inputs' statistics when they are off scale; None otherwise (or not measurable)."""
    try:
        stats = feature_stats(case)
    except Skip:
        return None
    return stats if stats.off_scale else None


class Unstandardized(nn.Module):
    """A model trained on standardized targets. In eval mode, where a replay scores it, its
    predictions are turned back into the original units."""

    def __init__(self, model: nn.Module, scale: TargetScale) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, *args, **kwargs) -> torch.Tensor:
        output = first_tensor(self.model(*args, **kwargs))
        return output if self.training else output * self.scale.std + self.scale.mean


def standardized(case, scale: TargetScale | None, inputs: FeatureStats | None,
                 model: nn.Module | None = None) -> tuple[ReplayResult, nn.Module]:
    """The user's setup replayed with the training targets standardized (``scale``; the
    validation targets kept, the copy's predictions turned back into the user's units) and the
    inputs standardized (``inputs``), either or both; with the trained copy."""
    if scale is not None and _returned_in_units(case) is not None:
        return _standardized_returned_loss(case, scale, inputs, model)
    validation = {id(b) for b in case.replayer.validation_batches}

    def transform(batch):
        if scale is not None and id(batch) not in validation:
            batch = replace(batch, target=(batch.target - scale.mean) / scale.std)
        return batch if inputs is None else map_first_input(batch, inputs.standardize)

    model = model if model is not None else copy.deepcopy(case.copies.initial_model)
    if scale is not None:
        model = Unstandardized(model, scale)
    result = case.replayer.replay(Plan(model=model, transform=transform, steps=REPLAY_STEPS))
    return result, model


#: How a loss on standardized targets turns back into the user's units: a squared error
#: scales with the square of the targets' std, an absolute error with the std (the mean
#: cancels in the difference). Huber's does not scale (its bend sits at a fixed error).
UNIT_POWERS = {"MSELoss": 2, "mse_loss": 2, "L1Loss": 1, "l1_loss": 1}


def _standardized_returned_loss(case, scale: TargetScale, inputs: FeatureStats | None,
                                model: nn.Module | None) -> tuple[ReplayResult, nn.Module]:
    """A model that computes its loss inside its forward from the target it is given
    (``return out, F.mse_loss(out, target)``): wrapping it to turn its predictions back
    (Unstandardized) loses the loss it returns, and the replay then trained on, and scored,
    one row's prediction (dev 366048, 803 where the constant guess is 8.7). Here every batch's
    targets are standardized, training and validation, the model is replayed as it is, and its
    losses are turned back into the user's units by the loss's power of the std."""
    power = _returned_in_units(case)

    def transform(batch):
        batch = replace(batch, target=(batch.target - scale.mean) / scale.std)
        return batch if inputs is None else map_first_input(batch, inputs.standardize)

    model = model if model is not None else copy.deepcopy(case.copies.initial_model)
    result = case.replayer.replay(Plan(model=model, transform=transform, steps=REPLAY_STEPS))
    return _in_units(result, scale.std ** power), model


def _returned_in_units(case) -> int | None:
    """The power of the std that turns the loss a model returns back into the user's units;
    None for a loss not returned by the model, or one that does not scale (Huber's, which
    keeps the wrapped replay: dev 366044 was found with it)."""
    if type(case.copies.replay_loss) is not ReturnedLoss:
        return None
    name = case.trace.setup.loss_name
    return UNIT_POWERS.get(alike(name) or name)


def _in_units(result: ReplayResult, factor: float) -> ReplayResult:
    return replace(result, train_losses=[v * factor for v in result.train_losses],
                   validation_losses=[v * factor for v in result.validation_losses],
                   start_validation=result.start_validation * factor)


def with_both(case, scale: TargetScale, inputs: FeatureStats) -> tuple[ReplayResult, nn.Module]:
    """Both standardized, replayed once per case (both checks compare with it)."""
    return case.shared("replay.targets_and_inputs_standardized",
                       lambda: standardized(case, scale, inputs))


def with_only(case, scale: TargetScale | None, inputs: FeatureStats | None) -> ReplayResult:
    """Only one of them standardized (the other's check's 'before'), replayed once per case."""
    key = "replay.targets_standardized" if scale is not None else "replay.inputs_standardized"
    return case.shared(key, lambda: standardized(case, scale, inputs)[0])


# --- a regression term that swamps a summed loss ----------------------------------------------

#: A term holding at least this share of a loss the model adds up from several terms is, to
#: the gradient, the whole loss: the others move the sum by less than 1%, about the spread of
#: a loss across batches. fresh21 s07 (a price near 5000 beside a binary task): 0.99999997;
#: its fixed twin s08 (the price z-scored): 0.60.
SWAMPING_SHARE = 0.99
#: Confidence of a swamped term seen in the losses alone (no replay: a model that computes its
#: loss inside its forward is not given standardized targets by the replay), below a fix
#: replayed (unscaled_targets' 0.65-0.95) and above the 0.5 a finding needs to be reported.
SWAMPED_CONFIDENCE = 0.75


@dataclass
class SwampedTerms:
    """A loss the model adds up from terms, one of them a regression on off-scale targets
    that holds nearly all of it, while another term's loss did not fall."""

    term: dict  # the swamping term (Setup.loss_terms)
    stalled: dict  # a term that did not learn, with its first and best loss
    first: float
    best: float

    @property
    def scale(self) -> TargetScale:
        return TargetScale(self.term["target_mean"], self.term["target_std"])

    def verdict(self) -> str:
        term, other = self.term, self.stalled
        return (f"Your model adds its loss up from {other['loss_name']} and {term['loss_name']}, "
                f"and {term['loss_name']} is {_share(term['share'])} of the sum: its targets are "
                f"large (mean {self.scale.mean:.4g}, std {self.scale.std:.4g}), so the gradient "
                f"is that term's alone and {other['loss_name']} never learned (its loss went "
                f"from {self.first:.4g} to at best {self.best:.4g}).")

    def evidence(self) -> dict:
        return {"term_share": self.term["share"], "target_mean": self.scale.mean,
                "target_std": self.scale.std, "stalled_term_first_loss": self.first,
                "stalled_term_best_loss": self.best}


def swamped_terms(trace) -> SwampedTerms | None:
    """The regression term of a summed loss that swamps the others (SWAMPING_SHARE of the sum
    at the first training step, its targets off scale), with a term whose own loss fell by
    less than NEAR_CHANCE_SHARE; None otherwise."""
    terms = trace.setup.loss_terms
    swamping = [t for t in terms if t["share"] >= SWAMPING_SHARE and t["adds_up"]
                and t["target_std"] is not None]
    if not swamping or not TargetScale(swamping[0]["target_mean"],
                                       swamping[0]["target_std"]).off_scale:
        return None
    kind = loss_kind(swamping[0]["loss_name"])
    if kind is None or kind.task != REGRESSION:
        return None
    for other in terms:
        progress = _term_progress(trace, other)
        if other is not swamping[0] and progress is not None:
            first, best = progress
            if best > (1 - NEAR_CHANCE_SHARE) * first:
                return SwampedTerms(swamping[0], other, first, best)
    return None


def _term_progress(trace, term: dict) -> tuple[float, float] | None:
    """A term's first and best loss: on the validation passes, else on the training steps;
    from the term's own numbers when the run's records are the terms' sums."""
    for phase in ("eval", "train"):
        if f"{phase}_best" in term:
            return term[f"{phase}_first"], term[f"{phase}_best"]
    loss_name = term["loss_name"]
    for phase in ("eval", "train"):
        values = [r.value for r in trace.losses if r.phase == phase and r.loss_name == loss_name
                  and math.isfinite(r.value)]
        if len(values) >= 2:
            return values[0], min(values)
    return None


def _share(share: float) -> str:
    return "more than 99.99%" if share > 0.9999 else f"{share:.2%}"
