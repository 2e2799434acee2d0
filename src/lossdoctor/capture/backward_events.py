"""Backward passes: the tensor backward is called on is the training loss, whatever computed
it. When no loss call that lossdoctor saw led to it (a loss written by hand, or one computed
where lossdoctor does not look, such as inside a compiled model), its own value is recorded."""

from __future__ import annotations

import torch

from lossdoctor.capture.guard import guarded
from lossdoctor.capture.tensors import first_tensor, tensors_in


class BackwardEvents:
    """Told by the hook layer before and after the outermost backward call."""

    def _start_backward_events(self) -> None:
        self._waiting: list = []  # held losses not yet trained on, while backward runs

    @guarded
    def backward_started(self, tensors) -> None:
        if self.update_awaited:
            self.check_parameter_update()
        if self.trace.steps and not self._zeroed_since_step:  # else it would return at once
            self.note_reset_before_backward()
        if self._step_spy is not None:
            self._tensor_pass_ended()
        roots = [tensors] if isinstance(tensors, torch.Tensor) else tensors_in(tensors)
        if self._tensor_spy is not None:
            self._tensor_step_ended(roots[0] if roots else None)
        if self._chain_spy is not None:
            self._note_root_chain(roots[0] if roots else None)
        else:
            self._root_chain = None
        # A loop, not a comprehension, and the common step (one root, the loss held) is
        # marked in it: three Python calls less a step.
        root = roots[0] if len(roots) == 1 else None
        waiting = self._waiting = []
        for held in self._held:
            if held.tentative and not held.reached and held.output:
                waiting.append(held)
                if root is not None and held.output() is root:
                    held.reached = True
                    return
        self._trace_through_held(roots)

    def _trace_through_held(self, roots: list[torch.Tensor]) -> None:
        """Mark the held losses this backward pass goes through (loss_events.py says how)."""
        for held in self._waiting:
            if any(held.output() is root for root in roots):
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
        root = tensors if isinstance(tensors, torch.Tensor) else first_tensor(tensors)
        if root is None or not root.is_floating_point() or root.numel() == 0:
            return
        seen_loss = False
        for held in waiting:  # a loop, not any(): no generator on every step
            if held.reached:
                seen_loss = True
                break
        name = None
        if not seen_loss:
            name, loss = self._trained_loss(root)
            self._record_trained_tensor(name, loss, self.last_batch_rows,
                                        self._trained_batch())
        # Once the replay is decided, the loss chain settled and the optimizer known (every
        # step after the first), the three calls below would return at once: not made.
        if self._built is not None or self._replay_undecided():
            self._decide_replay(seen_loss, name)
        if self._loss_chain is None and self._chains_wanted:
            self._learn_loss_chain(trained_by_torch_loss=seen_loss)
        if self._optimizer_ref is None:
            self.parameters_trained(root)

