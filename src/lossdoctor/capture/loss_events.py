"""Losses: every loss computed (module or function) and every value logged by hand."""

from __future__ import annotations

import copy
import functools

import torch
from torch import nn

from lossdoctor.capture import stats
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.guard import guarded
from lossdoctor.capture.model_setup import plain, public_settings
from lossdoctor.capture.tensors import batch_rows, copy_to_cpu, first_tensor
from lossdoctor.losses import loss_kind
from lossdoctor.trace import ActivationStat, LossInputStat, LossRecord, Trace


class LossEvents:
    """A loss with gradients is a training loss, one without is a validation loss. The first
    training loss is copied for the experiments, with its settings."""

    # Shared with the other event families, set by Recorder.__init__:
    trace: Trace
    copies: Copies
    sampled: bool
    last_train_loss: float | None
    events_since_step: bool
    validated_since_step: bool

    @guarded
    def loss_computed(self, name: str, loss_fn, prediction, target, output, kwargs=None) -> None:
        if not isinstance(prediction, torch.Tensor):  # the common case skips the search
            prediction = first_tensor(prediction)
        if prediction is None or not isinstance(output, torch.Tensor):
            return
        phase = "train" if torch.is_grad_enabled() and output.requires_grad else "eval"
        value = output.item() if output.numel() == 1 else float(output.detach().float().mean())
        rows = prediction.shape[0] if prediction.dim() else 0
        model = self.model
        training = model.training if model is not None else None
        self.trace.add_loss(LossRecord(value, rows, phase, self.step, name, training))
        if phase == "train":
            self.last_train_loss = value
            self._count_training_loss(rows)
            self._remember_loss(name, loss_fn, prediction, kwargs)
            self._record_output_saturation(name, prediction)
        else:
            self.events_since_step = self.validated_since_step = True
        if self.sampled:
            self._record_loss_inputs(name, phase, prediction, first_tensor(target))
        self._pair_target(phase, target)

    def _record_loss_inputs(self, name: str, phase: str, prediction, target) -> None:
        if target is None or prediction.numel() == 0 or target.numel() == 0:
            return
        self.trace.loss_inputs.append(
            LossInputStat(step=self.step, phase=phase, loss_name=name,
                          **stats.loss_input_numbers(prediction, target))
        )

    def _remember_loss(self, name: str, loss_fn, prediction: torch.Tensor, kwargs) -> None:
        if self.copies.loss_fn is not None:
            return
        if isinstance(loss_fn, nn.Module):
            self.copies.loss_fn = copy.deepcopy(loss_fn)
        else:
            self.copies.loss_fn = functools.partial(loss_fn, **copy_to_cpu(kwargs or {}))
        self.copies.prediction_shape = tuple(prediction.shape[1:])
        self.trace.setup.loss_name = name
        settings = kwargs if kwargs is not None else public_settings(loss_fn)
        self.trace.setup.loss_kwargs = plain(settings)

    def _record_output_saturation(self, name: str, prediction: torch.Tensor) -> None:
        if not self.sampled or not _takes_probabilities(name):
            return
        self.trace.activations.append(
            ActivationStat(
                step=self.step,
                layer="model output",
                kind="probabilities",
                saturated_fraction=stats.saturated_fraction("probabilities", prediction),
                dead_fraction=0.0,
                units=int(prediction.numel() // max(batch_rows(prediction), 1)),
            )
        )

    @guarded
    def log(self, name: str, value: float, step: int | None = None) -> None:
        """A value computed by hand: a validation or training loss joins the loss curves,
        anything else is kept under its name."""
        step = self.step if step is None else int(step)
        phase = _logged_phase(name)
        if phase is None:
            self.trace.log_value(name, step, float(value))
            return
        self.trace.add_loss(LossRecord(float(value), 1, phase, step, name, None))
        if phase == "eval":
            self.events_since_step = self.validated_since_step = True
        else:
            self.last_train_loss = float(value)


def _logged_phase(name: str) -> str | None:
    """"val_loss", "validation/loss" -> "eval"; "train_loss", "loss" -> "train"; else None."""
    lowered = name.lower()
    if "loss" not in lowered:
        return None
    return "eval" if any(word in lowered for word in ("val", "test", "eval")) else "train"


def _takes_probabilities(loss_name: str) -> bool:
    kind = loss_kind(loss_name)
    return kind is not None and kind.output == "probabilities"
