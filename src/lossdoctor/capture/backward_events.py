"""Backward passes: the tensor backward is called on is the training loss, whatever computed
it. When no loss call that lossdoctor saw led to it (a loss written by hand, or one computed
where lossdoctor does not look, such as inside a compiled model), its own value is recorded."""

from __future__ import annotations

import math

import torch

from lossdoctor.capture.guard import guarded
from lossdoctor.capture.tensors import first_tensor, tensors_in


class BackwardEvents:
    """Told by the hook layer before and after the outermost backward call."""

    def _start_backward_events(self) -> None:
        self._waiting: list = []  # held losses not yet trained on, while backward runs
        self._scale_noted = False  # _note_trained_scale was tried (once, at the first pass)

    @guarded
    def backward_started(self, tensors) -> None:
        if self.update_awaited:
            self.check_parameter_update()
        self._note_reset_before_backward()
        if self._step_spy is not None:
            self._tensor_pass_ended()
        roots = [tensors] if isinstance(tensors, torch.Tensor) else tensors_in(tensors)
        if self._tensor_spy is not None:
            self._tensor_step_ended(roots[0] if roots else None)
        if self._chain_spy is not None:
            self._note_root_chain(roots[0] if roots else None)
        else:
            self._root_chain = None
        self._waiting = [h for h in self._held if h.tentative and not h.reached and h.output]
        self._trace_through_held(roots)

    def _trace_through_held(self, roots: list[torch.Tensor]) -> None:
        """Mark the held losses this backward pass goes through (loss_events.py says how)."""
        for held in self._waiting:
            loss = held.output()
            for root in roots:
                if loss is root:
                    held.reached = True
                    return
        for held in self._waiting:
            loss = held.output()
            if loss is None:
                held.reached = held.forward == self.forwards
            elif loss.grad_fn is not None:
                loss.grad_fn.register_prehook(held.mark_reached)

    @guarded
    def backward_finished(self, tensors) -> None:
        waiting, self._waiting = self._waiting, []
        seen_loss = False
        for held in waiting:
            if held.reached:
                seen_loss = True
                break
        root = tensors if isinstance(tensors, torch.Tensor) else first_tensor(tensors)
        # A pass through a loss seen needs no look at its root (cold after the backward
        # kernels: ~5 us each, bench/step_overhead.py): the loss's tensors are float values.
        if root is None or not seen_loss and (not root.is_floating_point() or root.numel() == 0):
            return
        name = None
        if seen_loss and not self._scale_noted:
            self._scale_noted = True  # once: a read per step would wait for an accelerator
            self._note_trained_scale(root, waiting)
            self.learn_summed_terms(root, waiting)
        if not seen_loss:
            name, loss = self._trained_loss(root)
            self._record_trained_tensor(name, loss, self.last_batch_rows,
                                        self._trained_batch())
        # Each looked at here first: on a run's ordinary steps none has anything to do.
        if self.copies.loss_fn is None or self._built is not None or self._found_call is not None:
            self._decide_replay(seen_loss, name)
        if self._learning_chain and self._loss_chain is None:
            self._learn_loss_chain(trained_by_torch_loss=seen_loss)
        if self._optimizer_ref is None:
            self.parameters_trained(root)

    def _note_trained_scale(self, root: torch.Tensor, waiting: list) -> None:
        """Once: the tensor trained on over the mean per element of the torch.nn loss it came
        from (Setup.trained_per_element), which tells a loss summed over a row's outputs and
        divided by the rows from a mean."""
        held = next((h for h in waiting if h.reached), None)
        if held is None or root.numel() != 1:
            return
        per_element = held.record.value if held.unread is None else held.unread.item()
        trained = float(root.detach().float())
        if math.isfinite(per_element) and per_element != 0 and math.isfinite(trained):
            self.trace.setup.trained_per_element = trained / per_element
