"""Copies of what the run trained, kept so that experiments can replay it after the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from lossdoctor.capture.chained_model import Upstream
from lossdoctor.capture.clipping import GradientClip
from lossdoctor.capture.model_copy import device_of, kept_copy
from lossdoctor.capture.replay_losses import LossFunction, in_batch_targets
from lossdoctor.capture.sample import BatchSample
from lossdoctor.capture.upstream import UPSTREAM


@dataclass
class Copies:
    """Deep copies only: experiments on these can never touch the user's objects."""

    initial_model: nn.Module | None = None  # the model as it was before its first update
    final_model: nn.Module | None = None  # the model as the run left it, when still reachable
    loss_fn: Callable | None = None  # a torch.nn loss, called as loss_fn(prediction, target)
    optimizer_class: type | None = None
    optimizer_hparams: dict = field(default_factory=dict)
    #: The script gave its optimizer steps a closure (LBFGS needs one): replays do too.
    step_takes_closure: bool = False
    prediction_shape: tuple = ()  # the loss input's shape after the batch axis
    flat_target: bool = False  # the loss took the target flattened; batches keep it per row
    #: Each row's target is its position in the batch (replay_losses.in_batch_targets); known
    #: once the run ended (settle_targets).
    in_batch_target: bool = False
    #: The optimizer steps taken when the model trained last was first called (0 unless the
    #: run built a new model of the same class after training one: k-fold, a seed sweep).
    model_started_at: int = 0
    train: BatchSample = field(default_factory=BatchSample)
    validation: BatchSample = field(default_factory=BatchSample)
    #: Training batches no loss could pair with a target (a hand-written loss lossdoctor cannot
    #: read): their inputs still show the scale the model is fed. 1,024 rows put a feature's
    #: sample std within about 2% of its own (standard error 1/sqrt(2n)).
    train_inputs: BatchSample = field(default_factory=lambda: BatchSample(max_rows=1024))
    #: The training loss when no torch.nn loss on the output computed it: the model's own
    #: (replay_losses.ReturnedLoss) or a hand-written one (loss_program.LossProgram).
    loss_replay: object | None = None
    #: Why the training loss cannot be replayed, in words for the user; "" when it can.
    loss_problem: str = ""
    #: Why one captured model call cannot stand for a training step in replays (fed_back.py),
    #: in words for the user; "" when it can.
    replay_problem: str = ""
    #: The module that computes the model's input, when the two are replayed as one model
    #: (chained_model.py): the kept batches are its inputs. Until settle_chain(), it holds the
    #: user's module, as the recorder holds the model, to copy it as training left it.
    upstream: Upstream | None = None
    #: Why the model cannot be copied for replays, in words for the user; "" when it can or
    #: when nothing is known (see tensor_events.py).
    model_problem: str = ""
    #: Why replays have no optimizer (parameters updated by hand by no SGD rule), in words
    #: for the user; "" when they have one or nothing is known (see update_events.py).
    optimizer_problem: str = ""
    #: How the script clipped its gradients before each step (None: it did not).
    gradient_clip: GradientClip | None = None
    #: A clip the script called where no gradient existed yet (before backward): it clipped
    #: nothing. None: every clip call had gradients, or there was none.
    unapplied_clip: GradientClip | None = None
    #: The torch thread count the script left when it ended (0: not recorded): experiments run
    #: with it (sandbox.run_threads).
    threads: int = 0
    #: The device the run trained the model on (None: unknown): experiments run there, while
    #: the kept copies wait on model_copy.KEPT_ON.
    device: torch.device | None = None

    def keep_initial(self, model: nn.Module) -> None:
        """Keep the model as it is before its first update, off the accelerator, and note the
        device it trains on."""
        self.initial_model = kept_copy(model)
        self.device = device_of(model)

    def settle_targets(self) -> None:
        """At the end of the run: whether the loss's targets are the rows' own positions."""
        self.in_batch_target = in_batch_targets(self.train.batches)

    def settle_chain(self) -> None:
        """After the run, once: the model and its upstream module become one model, before
        training and as training left them (chained_model.Chained)."""
        chain, self.upstream = self.upstream, None
        if chain is None or self.replay_problem:
            return
        if not chain.confirmed:  # no training call after the first step showed the optimizers
            self.replay_problem = UPSTREAM
            return
        chain.settle()
        self.initial_model = chain.around(self.initial_model, chain.initial)
        self.final_model = chain.around(self.final_model, chain.final)

    @property
    def replay_loss(self):
        """How a replay computes the training loss: ``loss(model, batch)`` and
        ``predict(model, batch)``; None when it cannot."""
        if self.loss_replay is not None:
            return self.loss_replay
        if self.loss_fn is not None:
            return LossFunction(self.loss_fn, tuple(self.prediction_shape), self.flat_target,
                                self.in_batch_target)
        return None
