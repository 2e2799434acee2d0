"""Module calls: which module is the model, and when its forward pass starts and ends."""

from __future__ import annotations

import weakref

from torch import nn
from torch.nn.modules.loss import _Loss

from lossdoctor.capture.data_events import current_phase
from lossdoctor.capture.guard import guarded


class ModuleEvents:
    """The model is the outermost module with parameters. Its sampled training passes are spied
    on for activations (activation_events.py); its inputs may be kept (data_events.py)."""

    # Shared with the other event families, set by Recorder.__init__:
    broken: bool
    sampled: bool
    _model_ref: weakref.ref | None
    _optimizer_ref: weakref.ref | None

    def _start_module_events(self) -> None:
        self._depth = 0
        self._inside_loss = 0
        self._roots: set[int] = set()  # top-level models called before the first step

    @property
    def inside_loss_module(self) -> bool:
        return self._inside_loss > 0

    @property
    def sole_model(self) -> nn.Module | None:
        """The one model called before the first optimizer step, once that step was seen; None
        before it, with several models, or when the recorder is off."""
        if self.broken or self._optimizer_ref is None or len(self._roots) != 1:
            return None
        return self.model

    @guarded
    def forward_started(self, module: nn.Module, args) -> None:
        if isinstance(module, _Loss):
            self._inside_loss += 1
            return
        self._depth += 1
        if self._depth == 1 and (self._is_model(module) or _has_parameters(module)):
            if not self._is_model(module):
                self._model_ref = weakref.ref(module)
            if self._optimizer_ref is None:
                self._roots.add(id(module))
            if self.sampled and current_phase() == "train":
                self._start_spying()
        if self._spy is not None:
            self._module_stack.append(module)

    @guarded
    def forward_finished(self, module: nn.Module, args, kwargs, output) -> None:
        if isinstance(module, _Loss):
            self._inside_loss -= 1
            if output is not None and len(args) >= 2:
                self.loss_computed(type(module).__name__, module, args[0], args[1], output)
            return
        self._depth -= 1
        if self._spy is not None and self._module_stack:
            self._module_stack.pop()
        if self._depth == 0 and self._model_ref is not None and module is self._model_ref():
            self._stop_spying()
            self._keep_inputs(args, kwargs)

    def _is_model(self, module: nn.Module) -> bool:
        return self._model_ref is not None and self._model_ref() is module


def _has_parameters(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None
