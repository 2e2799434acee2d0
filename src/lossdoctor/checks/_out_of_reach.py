"""Regression targets beyond what the model's output can reach: its last operations (a sigmoid,
a tanh, a softmax, an exponential of a negative number, a ReLU; read from the output's graph,
checks/_reachable.py) bound it, and the targets lie past the bound. No prediction reaches
them, whatever the model learns (a siamese network's exp(-L1) in (0, 1] fit to relatedness
scores 1 to 5: the best it can do is predict 1). The replay scales the targets into the
output's range (min-max), as the threads' fix does, and turns its predictions back into the
user's units for scoring."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from lossdoctor.checks._clamped_output import UNREACHABLE_SHARE, beyond_share
from lossdoctor.checks._fix import fix_experiment, helped
from lossdoctor.checks._plain import plain_number
from lossdoctor.checks._reachable import UNBOUNDED, Interval, reachable
from lossdoctor.checks._targets import TargetScale, standardized
from lossdoctor.findings import Experiment, Skip
from lossdoctor.sandbox import isolated
from lossdoctor.trace import LossInputStat


@dataclass
class OutOfReach:
    """The output's range, the targets' range, and the share of the targets' variance the
    bound alone leaves as error (its floor on the mean squared error over the constant
    guess's)."""

    low: float
    high: float
    target_low: float
    target_high: float
    share: float
    experiment: Experiment | None = None

    @property
    def evidence(self) -> dict[str, float]:
        found = {"output_low": self.low, "output_high": self.high,
                 "target_min": self.target_low, "target_max": self.target_high,
                 "unreachable_share": self.share}
        if self.experiment is not None:
            found.update(val_loss_before=self.experiment.before,
                         val_loss_after=self.experiment.after)
        return found

    def fixed(self, case) -> bool:
        return self.experiment is not None and helped(self.experiment, case)

    @property
    def verdict(self) -> str:
        text = (f"The last operations of your model's forward pass keep its output within "
                f"{_range(self.low, self.high)}, but your targets go from "
                f"{plain_number(self.target_low)} to {plain_number(self.target_high)}: no "
                f"prediction can reach those outside it, whatever the model learns. That alone "
                f"keeps the squared error above {self.share:.0%} of what always predicting the "
                f"mean gives.")
        if self.experiment is None:
            return text
        return (f"{text} With the targets scaled into the output's range (and the predictions "
                f"scaled back), the validation loss goes from "
                f"{plain_number(self.experiment.before)} to "
                f"{plain_number(self.experiment.after)} in a {self.experiment.steps}-step replay "
                f"of your training.")

    @property
    def fix(self) -> str:
        if math.isfinite(self.low) and math.isfinite(self.high):
            return (f"Scale the targets into {_range(self.low, self.high)} (y - min) / (max - "
                    f"min) and the predictions back, or remove the bounded operation at the "
                    f"output.")
        return ("Remove the bounded operation at the output (a regression output should be "
                "the last linear layer's), or shift the targets into its range.")


def out_of_reach(case, seen: list[LossInputStat], targets: torch.Tensor | None
                 ) -> OutOfReach | None:
    """The evidence when the output's bound puts UNREACHABLE_SHARE or more of the targets'
    variance out of reach, and the sampled predictions (``seen``) all lie within it; None
    otherwise."""
    if targets is None or targets.numel() < 2:
        return None
    bounds = _output_bounds(case)
    if bounds is None or not _within(seen, bounds):
        return None
    share = beyond_share(targets, *bounds)
    if share < UNREACHABLE_SHARE:
        return None
    low, high = float(targets.min()), float(targets.max())
    found = OutOfReach(*bounds, low, high, share)
    found.experiment = _rescaled_replay(case, found)
    return found


def _output_bounds(case) -> Interval | None:
    """The range the untrained copy's prediction on a training batch can take, from its graph;
    None when nothing bounds it or it cannot be computed. It needs the copy, the loss's
    prediction and one training batch, not a replay's held-out rows: a run with no validation
    set and four rows still has its output's bound read (genann's XOR, a sigmoid output asked
    for 3 to 6)."""
    replayer = case.replayer
    if (case.copies.initial_model is None or case.copies.replay_loss is None
            or not replayer.train_batches):
        return None
    try:
        model = copy.deepcopy(case.copies.initial_model).train()
        with isolated(0), torch.enable_grad():
            prediction = replayer.predict(model, replayer.train_batches[0])
    except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
        return None
    if not isinstance(prediction, torch.Tensor):
        return None
    bounds = reachable(prediction)
    return None if bounds == UNBOUNDED else bounds


def _within(seen: list[LossInputStat], bounds: Interval) -> bool:
    """Every sampled prediction inside the range read from the graph: the reading holds on the
    run's own calls."""
    low, high = bounds
    return all(low <= s.prediction_min and s.prediction_max <= high for s in seen)


def _rescaled_replay(case, found: OutOfReach) -> Experiment | None:
    """The user's training replayed with the targets mapped into the output's range (min-max
    where both ends are finite, shifted where one is), the predictions mapped back."""
    scale = _into_range(found)
    if scale is None:
        return None
    try:
        baseline = case.baseline
        result, _ = standardized(case, scale, None)
    except (Skip, RuntimeError):
        return None
    return fix_experiment("targets scaled into the output's range", baseline, result)


def _into_range(found: OutOfReach) -> TargetScale | None:
    """The affine map y' = (y - mean) / std that puts the targets' range onto the output's."""
    spread = found.target_high - found.target_low
    if math.isfinite(found.low) and math.isfinite(found.high) and spread > 0:
        std = spread / (found.high - found.low)
        return TargetScale(found.target_low - found.low * std, std)
    if math.isfinite(found.low):
        return TargetScale(found.target_low - found.low, 1.0)
    if math.isfinite(found.high):
        return TargetScale(found.target_high - found.high, 1.0)
    return None


def _range(low: float, high: float) -> str:
    if not math.isfinite(high):
        return f"[{plain_number(low)}, infinity)"
    if not math.isfinite(low):
        return f"(-infinity, {plain_number(high)}]"
    return f"[{plain_number(low)}, {plain_number(high)}]"
