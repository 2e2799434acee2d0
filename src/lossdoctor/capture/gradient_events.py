"""Gradients on sampled steps: each parameter's gradient and weight norms before the update,
and the size of the update relative to the weights after it."""

from __future__ import annotations

import torch
from torch import nn

from lossdoctor.capture import stats
from lossdoctor.trace import LayerGradient, Trace


class GradientEvents:
    """Called by the step events (and the updates made by hand) with the parameters trained;
    parameters are named after the model's own names."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace

    def _start_gradient_events(self) -> None:
        self._param_names: dict[int, str] = {}
        self._before_update: dict[int, tuple[LayerGradient, torch.Tensor]] = {}

    def _name_parameters(self, model: nn.Module) -> None:
        self._param_names = {id(p): name for name, p in model.named_parameters()}

    def _record_gradients(self, params: list[torch.Tensor]) -> None:
        self.trace.gradient_samples += 1
        for param in params:
            if param.grad is None:
                self._note_gradientless(param)
                continue
            name = self._param_names.get(id(param))
            record = LayerGradient(
                step=self.step,
                name=name or f"parameter {len(self._before_update)}",
                grad_norm=stats.norm(param.grad),
                weight_norm=stats.norm(param),
                dims=param.dim(),
                named=name is not None,
            )
            self.trace.gradients.append(record)
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
        if not self._before_update:
            return
        for param in params:
            if id(param) in self._before_update:
                record, before = self._before_update[id(param)]
                update = stats.norm(param.detach() - before)
                record.update_ratio = update / max(stats.norm(before), 1e-12)
        self._before_update.clear()
