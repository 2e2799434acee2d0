"""Weights loaded back into the model after its training: a script that restores its best
checkpoint at the end (``model.load_state_dict(best_model_wts)``, as PyTorch's transfer-learning
tutorial does) leaves a model its last validation pass never scored. The checks compare the
kept model with the run's records, so the model is copied as training left it, just before the
load (``nn.Module.load_state_dict`` is wrapped while the run is watched: a hook on the model
itself would travel with every copy and pickle of it), and that copy is kept when nothing (no
step, no call of the model) came after the load."""

from __future__ import annotations

from torch import nn

from lossdoctor.capture.guard import guarded
from lossdoctor.capture.model_copy import kept_copy
from lossdoctor.capture.tracing import plain_module


class RestoredWeights:
    def _start_restored_weights(self) -> None:
        #: (optimizer steps, model calls, the model as training left it) at the last load
        #: into the model after training began.
        self._before_load: tuple[int, int, nn.Module] | None = None

    @guarded
    def weights_loading(self, module: nn.Module) -> None:
        """``module.load_state_dict`` is about to run."""
        model = self.model
        if self.trace.steps > 0 and model is not None and module is plain_module(model):
            self._before_load = (self.trace.steps, self.forwards, kept_copy(module))

    def _trained_before_restore(self) -> nn.Module | None:
        """The model as training left it, when weights were loaded into it after the last
        step and the model was not called since."""
        if self._before_load is None:
            return None
        steps, forwards, model = self._before_load
        return model if (steps, forwards) == (self.trace.steps, self.forwards) else None
