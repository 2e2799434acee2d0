"""Per-feature statistics of the model's float inputs, and replays with those inputs standardized.

Features are the columns of a 2-D (rows, features) input and the channels (axis 1) of images
and sequences, or the last axis of a sequence whose first layer reads that axis (nn.Linear, an
RNN). Integer inputs (token ids, embedding indices) are not features and are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.experiments import Plan, ReplayResult, first_input, map_first_input
from lossdoctor.findings import Skip

#: PyTorch's default initializations scale weights by 1/sqrt(fan_in) on the assumption that
#: inputs are of unit scale. An order of magnitude beyond that (a typical size of 10 or more)
#: multiplies pre-activations tenfold, enough to pin a sigmoid or tanh, and the first layer's
#: gradient curvature a hundredfold; two orders below starves the first layer of signal.
LARGE_SCALE = 10.0
#: The signal is the variation: an offset is one more bias, which the first layer's own bias
#: takes away. So every feature varying by SMALL_SCALE or less is off scale whatever its offset
#: (``nearly_constant``): pixels in 0-1 normalized with the mean and std of 0-255 pixels
#: (kuangliu/pytorch-cifar's issue) sit near -2 with a spread of 0.002, the differences between
#: images 500 times below what the default init is scaled for.
SMALL_SCALE = 0.01
#: Feature scales two orders of magnitude apart make one learning rate wrong for some of them;
#: counted only when the largest is clearly beyond unit scale (half an order of magnitude), so
#: sparse or rarely-on features next to unit-scale ones do not count.
SCALE_SPREAD = 100.0
SPREAD_ALSO_NEEDS = 10.0**0.5
#: Layers whose input width tells which axis of the input holds the features.
FIRST_LAYERS = (nn.Linear, nn.RNNBase, nn.modules.conv._ConvNd)


@dataclass
class FeatureStats:
    """Mean, standard deviation and largest magnitude of each input feature, over the sample."""

    mean: torch.Tensor
    std: torch.Tensor
    max_abs: torch.Tensor
    rows: int
    unit: str = "column"  # what one entry is called: "column", "channel" or "feature"
    axis: int = 1  # where features lie in an input: 1, or -1 for the last axis

    @property
    def scale(self) -> torch.Tensor:
        """The typical size of each feature's values: the root mean square, offset included."""
        return (self.mean**2 + self.std**2).sqrt()

    @property
    def largest(self) -> int:
        return int(self.scale.argmax())

    @property
    def spread(self) -> float:
        """Largest over smallest scale among features that vary (constant ones say nothing)."""
        varying = self.scale[self.std > 0]
        if varying.numel() < 2:
            return 1.0
        return float(varying.max() / varying.min())

    @property
    def variation(self) -> float:
        """The largest standard deviation among the features: how much the inputs vary at
        most, their offsets aside."""
        return float(self.std.max())

    @property
    def most_varying(self) -> int:
        """The feature that varies the most."""
        return int(self.std.argmax())

    @property
    def nearly_constant(self) -> bool:
        """Every feature varies by SMALL_SCALE or less (and some by more than nothing)."""
        return 0 < self.variation <= SMALL_SCALE

    @property
    def off_scale(self) -> bool:
        largest = float(self.scale.max())
        return (
            largest >= LARGE_SCALE
            or largest <= SMALL_SCALE
            or self.nearly_constant
            or (self.spread >= SCALE_SPREAD and largest >= SPREAD_ALSO_NEEDS)
        )

    @property
    def orders_off_unit(self) -> float:
        """How many orders of magnitude the inputs are off unit scale, by size, by spread, or
        by how little they vary."""
        largest = float(self.scale.max())
        spread = math.log10(self.spread) if largest >= SPREAD_ALSO_NEEDS else 0.0
        flat = -math.log10(self.variation) if self.nearly_constant else 0.0
        return max(abs(math.log10(max(largest, 1e-30))), spread, flat)

    def standardize(self, inputs: torch.Tensor) -> torch.Tensor:
        """Each feature minus its sample mean, over its sample std (constant ones only centred)."""
        last = self.axis == -1 or inputs.dim() <= 2
        shape = (-1,) if last else (1, -1, *([1] * (inputs.dim() - 2)))
        std = torch.where(self.std > 0, self.std, torch.ones_like(self.std))
        mean = self.mean.to(inputs.dtype).reshape(shape)
        return (inputs - mean) / std.to(inputs.dtype).reshape(shape)


def first_inputs(batches: list[Batch]) -> torch.Tensor:
    """The first input tensor of every batch, stacked; Skip when they are not float tensors."""
    inputs = [first_input(b) for b in batches if first_input(b) is not None]
    if not inputs:
        raise Skip("needs the model's first input to be a tensor: none was captured")
    if not all(t.is_floating_point() for t in inputs):
        raise Skip("needs float inputs: the model's first input holds integers (token ids or "
                   "indices), which are looked up, not scaled")
    if len({tuple(t.shape[1:]) for t in inputs}) > 1:
        raise Skip("needs inputs of one shape: the captured batches differ in shape")
    return torch.cat(inputs)


def training_inputs(copies) -> list[Batch]:
    """The training batches kept with their targets, else those no loss could pair."""
    return copies.train.batches or copies.train_inputs.batches


def feature_stats(case) -> FeatureStats:
    """Statistics of the training sample's float inputs, one entry per feature."""
    inputs = first_inputs(training_inputs(case.copies)).double()
    if inputs.shape[0] < 2:
        raise Skip("needs at least 2 training rows to measure the inputs")
    axis = feature_axis(inputs, case.copies.initial_model)
    per_feature = inputs.reshape(-1, 1) if inputs.dim() == 1 else (
        inputs.movedim(axis, -1).reshape(-1, inputs.shape[axis])
    )
    return FeatureStats(
        mean=per_feature.mean(0),
        std=per_feature.std(0),
        max_abs=per_feature.abs().amax(0),
        rows=int(inputs.shape[0]),
        unit="column" if inputs.dim() <= 2 else ("feature" if axis == -1 else "channel"),
        axis=axis,
    )


def feature_axis(inputs: torch.Tensor, model: nn.Module | None) -> int:
    """Axis 1 (columns, channels), unless a 3-D or larger input is read along its last axis by
    the model's first layer: nn.Linear or an RNN on (batch, time, features)."""
    if inputs.dim() <= 2 or model is None:
        return 1
    first = next((m for m in model.modules() if isinstance(m, FIRST_LAYERS)), None)
    width = getattr(first, "in_features", getattr(first, "input_size", None))
    return -1 if width == inputs.shape[-1] else 1


def replay_standardized(case, stats: FeatureStats, model: nn.Module | None = None) -> ReplayResult:
    """The user's setup replayed with every input standardized with the training sample's stats.
    Pass ``model`` (a copy) to look at it after training."""
    plan = Plan(model=model, steps=REPLAY_STEPS, transform=standardizing(stats))
    return case.require_replay().replay(plan)


def standardizing(stats: FeatureStats):
    """A batch transform that standardizes the batch's first input with ``stats``."""
    def standardized(batch: Batch) -> Batch:
        return map_first_input(batch, stats.standardize)
    return standardized


def off_scale_standardizing(case):
    """The transform that standardizes the inputs when they are off scale (``off_scale``), else
    None (inputs on scale, or none a replay could standardize: token ids, no tensor)."""
    try:
        stats = feature_stats(case)
    except Skip:
        return None
    return standardizing(stats) if stats.off_scale else None
