"""Copies of what the run trained, kept so that experiments can replay it after the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from lossdoctor.capture.sample import BatchSample


@dataclass
class Copies:
    """Deep copies only: experiments on these can never touch the user's objects."""

    initial_model: nn.Module | None = None  # the model as it was before its first update
    final_model: nn.Module | None = None  # the model as the run left it, when still reachable
    loss_fn: Callable | None = None  # called as loss_fn(prediction, target)
    optimizer_class: type | None = None
    optimizer_hparams: dict = field(default_factory=dict)
    prediction_shape: tuple = ()  # the loss input's shape after the batch axis
    train: BatchSample = field(default_factory=BatchSample)
    validation: BatchSample = field(default_factory=BatchSample)
