"""Hand-written losses outside training (``torch.mean((out - y) ** 2)`` under no_grad): no loss
function is called, so no wrapper sees them. The first training step shows what the script's
loss looks like: the chain of torch functions (loss_chains.py) from the model's output to the
tensor backward was called on. From then on, after each forward pass of the model, a scalar
reached from its output through the same chain is that loss, computed on other data.

The chains are followed only while they may be needed: until a backward pass goes through a
torch.nn loss (those are seen directly), never for compiled code, and never once the chain of
the training loss is unknown (a loss not computed from the model's output).
"""

from __future__ import annotations

import weakref

import torch

from lossdoctor.capture.guard import guarded
from lossdoctor.capture.loss_chains import Chain, LossChainSpy, take_off_done_spies, unscaled
from lossdoctor.capture.loss_events import HeldLoss
from lossdoctor.capture.tracing import is_compiled
from lossdoctor.trace import LossRecord

#: The loss name shown for a training loss that no torch.nn loss computed.
HAND_WRITTEN = "hand-written loss"
#: ... and for one the model's forward returned (``model(**batch).loss``).
RETURNED_BY_MODEL = "loss returned by the model"


class HandWrittenEvents:
    """Called by the module events (forward passes) and the backward events."""

    def _start_hand_written_events(self) -> None:
        self._chain_spy: LossChainSpy | None = None
        self._loss_chain: Chain | None = None  # the training loss's chain, once learnt
        self._chains_wanted = True
        self._root_chain: Chain | None = None  # the chain of the tensor backward was called on
        self._compile_used = False

    def compile_used(self) -> None:
        """The script compiled something: a TorchFunctionMode around compiled code could make
        the compiler trace lossdoctor, so no chain is followed from now on."""
        self._compile_used = True
        self._stop_following()

    def _follow_output(self, module, output) -> None:
        """After a forward pass of the model: follow what is computed from its output."""
        if not self._chains_wanted or self._compile_used or is_compiled(module):
            return
        self._stop_following()
        self._chain_spy = LossChainSpy(self._scalar_computed)
        self._chain_spy.follow(output, self.last_batch_rows)

    def _stop_following(self) -> None:
        spy, self._chain_spy = self._chain_spy, None
        if spy is not None:
            spy.leave()
        else:
            take_off_done_spies()  # one left inside a torch function, as backward runs

    def _note_root_chain(self, root: torch.Tensor | None) -> None:
        """At the start of a backward pass: the chain that led to the tensor it starts from."""
        spy = self._chain_spy
        self._root_chain = spy.chain_of(root) if spy is not None and root is not None else None
        if spy is not None:
            self._stop_following()

    def _learn_loss_chain(self, trained_by_torch_loss: bool) -> None:
        """After a backward pass: a torch.nn loss trains (chains are not needed), or the chain
        of the hand-written training loss is learnt (or cannot be, and is not looked for)."""
        if self._loss_chain is not None or not self._chains_wanted:
            return
        self._chains_wanted = not trained_by_torch_loss and self._root_chain is not None
        if self._chains_wanted:
            self._loss_chain = unscaled(self._root_chain)

    def _trained_loss(self, root: torch.Tensor) -> tuple[str, torch.Tensor]:
        """A training loss no torch.nn loss computed: its name, and the tensor that holds its
        value (the model's own loss when backward started from it scaled by a number)."""
        returned = self._returned_loss() if self._returned_loss is not None else None
        if root is returned:
            return RETURNED_BY_MODEL, root
        if self._root_chain is not None and unscaled(self._root_chain) == ():
            return RETURNED_BY_MODEL, returned if returned is not None else root
        return HAND_WRITTEN, root

    @guarded
    def _scalar_computed(self, tensor: torch.Tensor, chain: Chain, rows: int) -> None:
        if self._loss_chain is None or chain != self._loss_chain:
            return
        name = RETURNED_BY_MODEL if chain == () else HAND_WRITTEN
        tentative = torch.is_grad_enabled() and tensor.requires_grad
        model = self.model
        record = LossRecord(tensor.item(), rows, "train" if tentative else "eval", self.step,
                            name, model.training if model is not None else None)
        held = HeldLoss(record, self.forwards, tentative)
        if tentative:
            held.output = weakref.ref(tensor)
        self._hold(held)
