"""Module calls that make one model: the followed module called on what another module the
step trains returned just before it (chained_model.py). Kept apart from module_events.py, which
calls in here only when the model changed between two calls: a script of one model pays one
attribute read a model call."""

from __future__ import annotations

import weakref

import torch
from torch import nn

from lossdoctor.capture.chained_model import (
    CHAIN_BROKEN,
    UNLIKE_OPTIMIZERS,
    Upstream,
    output_index,
)
from lossdoctor.capture.fed_back import reaches
from lossdoctor.capture.model_setup import trained_by
from lossdoctor.capture.sample import BatchSample
from lossdoctor.capture.tensors import tensors_in
from lossdoctor.capture.upstream import UPSTREAM


class ModuleChains:
    """A chain starts at the first training call of the model, before the first optimizer
    step, whose one input tensor the module called just before returned with gradients from
    its own parameters; it is confirmed once the optimizers are known, and broken (replays
    skipped with the reason) by a call of the model on anything else."""

    def _start_module_chains(self) -> None:
        #: The module called before the model, when another, weakly, and its output tensors.
        self._called_after: tuple[weakref.ref, tuple] | None = None

    def _in_chain(self, module: nn.Module) -> bool:
        """Whether ``module`` or the model it follows is the chain's upstream module: calling
        the parts one after the other is no new model trained."""
        chain = self.copies.upstream
        model = self._model_ref() if self._model_ref is not None else None
        return chain is not None and (module is chain.held or model is chain.held)

    def _chained(self, module: nn.Module, args, kwargs) -> bool:
        """Whether this call of the model is given the output of the module called before it,
        as the chain followed (which this call may start, confirm or break). A chain starts
        before the first step only: after it, a run with none forgets the module called before
        (its model calls then skip this)."""
        chain = self.copies.upstream
        if chain is None and self.step > 0:
            self._called_after = None
            return False
        before, outputs = self._called_after
        upstream = before()
        inputs = tensors_in((args, kwargs))
        index = (output_index(inputs[0], outputs)
                 if len(inputs) == 1 and upstream is not None else None)
        if chain is None:
            return index is not None and self._chain_started(upstream, module, index, inputs[0])
        if module is chain.held:  # the upstream module's own call: its inputs wait as a batch
            return False
        if upstream is not chain.held or index != chain.output_index:
            # given another module's output: a longer chain (a stem, an encoder, a head)
            self._chain_broken(UPSTREAM if index is not None else CHAIN_BROKEN)
            return False
        if not chain.confirmed and self._call_phase == "train" and self.step > 0:
            self._confirm_chain(chain, module, inputs[0])
        return self.copies.upstream is not None

    def _chain_started(self, upstream: nn.Module, model: nn.Module, index: int,
                       given: torch.Tensor) -> bool:
        """A chain starts at a training call before the first step, when the upstream module
        computed ``given`` from its own parameters: it trains. The batches kept so far were
        the model's own inputs: the samples start again with the upstream module's."""
        if (self._call_phase != "train" or self.step > 0 or self.copies.replay_problem
                or given.grad_fn is None):
            return False
        own = {id(p) for p in upstream.parameters() if p.requires_grad}
        if not reaches([given.grad_fn], own):
            return False
        self.copies.upstream = Upstream.of(upstream, index)
        self._restart_samples()
        return True

    def _restart_samples(self) -> None:
        """The batches kept so far were another module's inputs: the samples start again."""
        copies = self.copies
        for name in ("train", "validation", "train_inputs"):
            setattr(copies, name, BatchSample(max_rows=getattr(copies, name).max_rows))

    def _confirm_chain(self, chain: Upstream, model: nn.Module, given: torch.Tensor) -> None:
        """At the first training call after the first step, with the optimizers known: no
        other trained module computed the input (several upstream modules), and the two parts
        train with one optimizer, or two of the same kind and settings."""
        chain.confirmed = True
        optimizer = self._optimizer_ref() if self._optimizer_ref is not None else None
        if optimizer is None:
            self._chain_broken(UPSTREAM)
            return
        trained = {id(p) for p in trained_by(optimizer)}
        parts = [p for part in (chain.held, model) for p in part.parameters()]
        others = trained - {id(p) for p in parts}
        if others and reaches([given.grad_fn], others):
            self._chain_broken(UPSTREAM)
            return
        problem = _optimizers_problem(self.trace, trained, chain.held, model)
        if problem:
            self._chain_broken(problem)

    def _chain_broken(self, reason: str) -> None:
        """Replays are skipped with ``reason``; the batches kept were the upstream module's
        inputs: the samples start again with the model's own, as a run with no chain keeps."""
        self.copies.upstream = None
        self._pending = None
        self._restart_samples()
        if not self.copies.replay_problem:
            self.copies.replay_problem = reason

    def _keep_chained_inputs(self, output) -> None:
        """The batch waiting for its target is the upstream module's inputs, kept when it was
        called: it stays, for the loss of this call's output."""
        if self._loss_call is not None and self._pending is not None:
            self._watch_loss_call(output)


def _optimizers_problem(trace, trained: set[int], upstream: nn.Module,
                        model: nn.Module) -> str:
    """Why the two parts cannot be replayed with the first optimizer's kind and settings
    ("" when they can): one optimizer trains both, or the one that trains the other part
    (seen at its first step, later_optimizers.py) has the same kind and settings."""
    held = [all(id(p) in trained for p in part.parameters() if p.requires_grad)
            for part in (upstream, model)]
    if all(held):
        return ""
    if not any(held) or not trace.later_optimizer_class:
        return UPSTREAM
    same = (trace.later_optimizer_class == trace.setup.optimizer_class
            and trace.later_optimizer_hparams == trace.setup.optimizer_hparams)
    return "" if same else UNLIKE_OPTIMIZERS
