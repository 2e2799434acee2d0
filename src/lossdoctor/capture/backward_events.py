"""Backward passes: the tensor backward is called on is the training loss, whatever computed
it. When no loss call that lossdoctor saw led to it (a loss written by hand, or one computed
where lossdoctor does not look, such as inside a compiled model), its own value is recorded."""

from __future__ import annotations

import torch

from lossdoctor.capture.guard import guarded
from lossdoctor.capture.tensors import first_tensor


class BackwardEvents:
    """Told by the hook layer before and after the outermost backward call."""

    def _start_backward_events(self) -> None:
        self._reached_before = 0

    @guarded
    def backward_started(self, tensors) -> None:
        self.check_parameter_update()
        self._note_root_chain(first_tensor(tensors))
        self._reached_before = self._reached_losses()

    @guarded
    def backward_finished(self, tensors) -> None:
        root = first_tensor(tensors)
        if root is None or not root.is_floating_point() or root.numel() == 0:
            return
        seen_loss = self._reached_losses() > self._reached_before
        if not seen_loss:
            name, loss = self._trained_loss(root)
            self._record_trained_tensor(name, _value(loss), self.last_batch_rows)
        self._learn_loss_chain(trained_by_torch_loss=seen_loss)
        self.parameters_trained(root)

    def _reached_losses(self) -> int:
        return sum(held.reached for held in self._held)


@torch.no_grad()
def _value(tensor: torch.Tensor) -> float:
    if tensor.numel() == 1:
        return tensor.item()
    return float(tensor.detach().float().mean())
