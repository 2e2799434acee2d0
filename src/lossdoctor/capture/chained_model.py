"""Two modules the training step calls one after the other, replayed as one model.

An encoder before a decoder, a feature extractor before a head kept as another module: the
capture follows the module called last as the model, and its input is the other module's
output. When the chain is simple (the followed module's one input tensor is a tensor the
module called just before it returned, the upstream module trains, and its own inputs are
batch tensors), the batches kept are the upstream module's inputs, and replays train a copy of
both: ``Chained(upstream, model)``, whose forward calls one on the other's output, so that an
lr, optimizer, capacity or init replay trains both as the run did. Where it is not simple, the
model is replayed alone or not at all (upstream.py)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lossdoctor.capture.model_copy import kept_copy
from lossdoctor.capture.replay_losses import output_tensors

#: Why replays skip a chain lossdoctor began to replay as one model and then saw broken: the
#: followed module called on something else than the upstream module's output.
CHAIN_BROKEN = (
    "your training step calls the module lossdoctor follows as your model sometimes on what "
    "another trained module returned and sometimes on other inputs: lossdoctor cannot replay "
    "the two as one model, so it cannot train copies of your run")

#: Why replays skip a chain whose parts two optimizers of different kinds or settings train.
UNLIKE_OPTIMIZERS = (
    "your training step trains the module lossdoctor follows as your model and the module "
    "that computes its inputs with two optimizers of different kinds or settings: lossdoctor "
    "replays the two as one model with one optimizer, so it cannot train copies of your run")


class Chained(nn.Module):
    """A copy of the upstream module and of the model, called one on the other's output."""

    def __init__(self, upstream: nn.Module, model: nn.Module, output_index: int) -> None:
        super().__init__()
        self.upstream, self.model, self.output_index = upstream, model, output_index

    def forward(self, *args, **kwargs):
        return self.model(output_tensors(self.upstream(*args, **kwargs))[self.output_index])


@dataclass
class Upstream:
    """The upstream module of a chain: its copy before the first optimizer step, the user's
    module (held until the run ends, like the recorder's model, then copied and let go), and
    which of its output tensors the model is given."""

    initial: nn.Module
    held: nn.Module | None
    output_index: int
    final: nn.Module | None = None
    #: Whether the optimizers were found to train both parts as one model can be replayed
    #: (chains_of_modules.py, at the first training call after the first step).
    confirmed: bool = False

    @classmethod
    def of(cls, module: nn.Module, output_index: int) -> Upstream:
        return cls(kept_copy(module), module, output_index)

    def settle(self) -> None:
        """At the end of the run: copy the upstream module as training left it."""
        if self.held is not None:
            self.final, self.held = kept_copy(self.held), None

    def around(self, model: nn.Module | None, upstream: nn.Module | None) -> nn.Module | None:
        """``model`` (a copy) with ``upstream`` (a copy) before it; None without either."""
        if model is None or upstream is None:
            return None
        return Chained(upstream, model, self.output_index)


def output_index(given: torch.Tensor, outputs) -> int | None:
    """Which of the upstream call's output tensors (weak references) ``given`` is."""
    return next((i for i, ref in enumerate(outputs) if ref() is given), None)
