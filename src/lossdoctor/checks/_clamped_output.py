"""A regression output clamped at zero (a ReLU after the last layer) while the targets go below
zero: no prediction can reach them, whatever the model learns. A larger model with the same
clamp fails the same way; without it, even a small one fits (the "output ReLU" threads)."""

from __future__ import annotations

import copy
import dataclasses
import math

import torch

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import map_tensors
from lossdoctor.checks._output_extremes import output_extremes
from lossdoctor.checks._plain import plain_number
from lossdoctor.trace import LossInputStat

#: Sampled loss calls (the last ones; or kept batches scored by the untrained model, for a
#: loss written by hand) whose smallest prediction must be exactly 0: a ReLU clamps to exact
#: zeros, trained or not, where a softplus or an exponential only come near.
LATE_CALLS = 3
#: The share of the targets' variance a clamp at zero puts out of reach: the mean of their
#: squared negative parts over their variance, which is the floor the clamp alone sets on the
#: mean squared error as a share of the constant guess's. Standardized targets lose about half
#: (symmetric) to a third (skewed right); a tenth is past what a run's noise or a few negative
#: outliers of nonnegative data (measured quantities below 0 by error) give, and is a loss a
#: practitioner would not accept.
UNREACHABLE_SHARE = 0.1
#: Kept training batches an untrained model scores to tell whether its outputs are clamped at
#: zero: a ReLU zeroes about half of a raw output's values at initialization, so one batch
#: already shows exact zeros; three keep a batch whose every output is positive by chance from
#: counting (a few-row batch of a single output).
CLAMP_BATCHES = 3


def clamped_at_zero(seen: list[LossInputStat], targets: torch.Tensor | None) -> dict | None:
    """The evidence of a regression output clamped at zero, or None: every sampled call's
    predictions at least 0, the last LATE_CALLS' smallest exactly 0, and the captured
    training targets ``targets`` losing UNREACHABLE_SHARE or more of their variance below 0."""
    if not outputs_clamped_at_zero(seen) or targets is None or targets.numel() < 2:
        return None
    share = unreachable_share(targets)
    if share < UNREACHABLE_SHARE:
        return None
    return {"unreachable_share": share, "targets_below_zero": float((targets < 0).float().mean()),
            "target_min": float(targets.min())}


def outputs_clamped_at_zero(seen: list[LossInputStat]) -> bool:
    """Every sampled call's predictions at least 0, and the last LATE_CALLS' smallest exactly
    0: what a ReLU after the output layer gives."""
    if len(seen) < LATE_CALLS:
        return False
    late = sorted(seen, key=lambda s: s.step)[-LATE_CALLS:]
    return min(s.prediction_min for s in seen) >= 0 and all(s.prediction_min == 0 for s in late)


def ends_clamped_at_zero(model, batches: list[Batch], predict=None) -> bool:
    """Whether ``model`` ends in a clamp at zero (a ReLU after its output layer, written
    ``z * (z > 0)`` or ``z.clamp(min=0)`` alike): on each of the first CLAMP_BATCHES of
    ``batches`` its predictions (``predict(model, batch)``, the replayer's: what the loss is
    given, with the batch as the script called the model; the model's output without it), in
    eval mode (dropout zeroes values too), are never below 0 and the smallest is exactly 0. An
    untrained model is read, since a clamp gives exact zeros from the start, where a softplus,
    a sigmoid or an exponential only come near, unless they underflow: a sigmoid of -104 is 0
    in single precision. So the zeros must stay in double precision too, where a clamp's do
    and a squashing's do not (unless its input is past -745)."""
    batches = batches[:CLAMP_BATCHES]
    if not _zero_smallest(output_extremes(model, batches, predict or _called)):
        return False
    doubled = output_extremes(copy.deepcopy(model).double(), [_doubled(b) for b in batches],
                              predict or _called)
    return not all(doubled) or _zero_smallest(doubled)


def _zero_smallest(extremes: list[tuple[float, float] | None]) -> bool:
    return bool(extremes) and all(e is not None and e[0] == 0 for e in extremes)


def _doubled(batch: Batch) -> Batch:
    """``batch`` with its floating tensors in double precision."""
    return dataclasses.replace(batch, args=map_tensors(batch.args, _to_double),
                               kwargs=map_tensors(batch.kwargs, _to_double),
                               target=map_tensors(batch.target, _to_double))


def _to_double(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.double() if tensor.is_floating_point() else tensor


def _called(model, batch: Batch):
    return model(*batch.args, **batch.kwargs)


def unreachable_share(targets: torch.Tensor) -> float:
    """The share of the targets' variance a clamp at zero puts out of reach."""
    return beyond_share(targets, 0.0, math.inf)


def beyond_share(targets: torch.Tensor, low: float, high: float) -> float:
    """The mean squared distance of the targets to [low, high], over their variance: the floor
    an output bounded there sets on the mean squared error, as a share of the constant
    guess's."""
    targets = targets.double().reshape(-1)
    variance = float(targets.var())
    if not variance > 0:
        return 0.0
    return float((targets - targets.clamp(low, high)).pow(2).mean()) / variance


def clamped_verdict(evidence: dict) -> str:
    return (
        f"Your model's outputs never go below 0, and the smallest of each batch is exactly 0 "
        f"(a ReLU after the output layer, it seems), but "
        f"{evidence['targets_below_zero']:.0%} of your targets are below 0 (down to "
        f"{plain_number(evidence['target_min'])}): the model cannot reach them, whatever it "
        f"learns. That alone keeps the squared error above "
        f"{evidence['unreachable_share']:.0%} of what always predicting the mean gives.")


CLAMPED_FIX = ("Remove the ReLU (or any activation) after the output layer: a regression "
               "output should be the last linear layer's, unbounded.")
