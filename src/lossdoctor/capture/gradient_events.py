"""Gradients on sampled steps: each parameter's gradient and weight norms before the update,
and, on the sampled steps Schedule.measures_updates names, the size of the update relative to
the weights after it (a copy of the weights each; no check reads it). The norms of all
parameters are read together (stats.norms): one wait for the device per sampled step, not one
per tensor."""

from __future__ import annotations

import torch
from torch import nn

from lossdoctor.capture import stats
from lossdoctor.capture.schedule import Schedule
from lossdoctor.trace import LayerGradient, Trace


class GradientEvents:
    """Called by the step events (and the updates made by hand) with the parameters trained;
    parameters are named after the model's own names."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    schedule: Schedule

    def _start_gradient_events(self) -> None:
        self._param_names: dict[int, str] = {}
        self._before_update: dict[int, tuple[LayerGradient, torch.Tensor]] = {}

    def _name_parameters(self, model: nn.Module) -> None:
        self._param_names = {id(p): name for name, p in model.named_parameters()}

    def _record_gradients(self, params: list[torch.Tensor]) -> None:
        self.trace.gradient_samples += 1
        with_grad = []
        for param in params:
            if param.grad is None:
                self._note_gradientless(param)
            else:
                with_grad.append(param)
        found = stats.norms([p.grad for p in with_grad] + with_grad)
        measures_update = self.schedule.measures_updates(self.step)
        grad_norms, weight_norms = found[:len(with_grad)], found[len(with_grad):]
        norms = zip(with_grad, grad_norms, weight_norms, strict=True)
        for index, (param, grad_norm, weight_norm) in enumerate(norms):
            name = self._param_names.get(id(param))
            record = LayerGradient(
                step=self.step,
                name=name or f"parameter {index}",
                grad_norm=grad_norm,
                weight_norm=weight_norm,
                dims=param.dim(),
                named=name is not None,
            )
            self.trace.gradients.append(record)
            if measures_update:
                self._before_update[id(param)] = (record, param.detach().clone())

    def _note_gradientless(self, param: torch.Tensor) -> None:
        if not param.requires_grad:
            return
        name = self._param_names.get(id(param), "a parameter outside the model")
        entry = self.trace.gradientless.setdefault(
            name, {"elements": 0, "sampled_steps": 0}
        )
        entry["elements"] = param.numel()
        entry["sampled_steps"] += 1

    def _record_updates(self, params: list[torch.Tensor]) -> None:
        """The weight norm was taken before the update, on the values ``before`` holds; the
        change is computed in place of those copies (no second copy of the model)."""
        if not self._before_update:
            return
        updated = [(p, *self._before_update[id(p)]) for p in params if id(p) in self._before_update]
        befores = [before for _, _, before in updated]
        with torch.no_grad():  # one fused call, not one per parameter (hundreds on deep models)
            torch._foreach_sub_(befores, [p for p, _, _ in updated])
        changes = stats.norms(befores)
        for (_, record, _), change in zip(updated, changes, strict=True):
            record.update_ratio = change / max(record.weight_norm, 1e-12)
        self._before_update.clear()
