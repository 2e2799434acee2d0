"""What the training loss's torch.nn loss call is given when a replay computes it, and the weight
each class's rows get in it.

A binary loss may score something computed from the model's output rather than the output
(``bce_with_logits(out[:, 1] - out[:, 0], y)`` on a two-column output), and may weight its rows
(``weight=``, ``pos_weight=``, or ``(bce(..., reduction="none") * weight[labels]).mean()``).
The replayed loss is watched (a TorchFunctionMode) for its first torch.nn loss call: its
prediction and target. A class's weight is read from the gradients, as the loss applies it,
whatever way it is written: the user's loss's gradient with respect to that prediction, over
the same loss call's unweighted one (``reduction="sum"``), averaged over the class's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from lossdoctor.capture.loss_program import TORCH_LOSSES

#: Elements whose unweighted gradient is smaller than this are left out of a class's weight
#: (a row the model already fits passes almost no gradient either way: their ratio is noise).
SMALLEST_GRADIENT = 1e-6


@dataclass
class LossFed:
    """The first torch.nn loss call of one replayed loss: the function, its prediction (in the
    replay's graph) and target, and the user's whole loss."""

    function: object
    prediction: torch.Tensor
    target: torch.Tensor
    loss: torch.Tensor


class _FirstLossCall(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.found: tuple | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (self.found is None and getattr(func, "__name__", "") in TORCH_LOSSES
                and len(args) >= 2 and all(isinstance(a, torch.Tensor) for a in args[:2])):
            self.found = (func, args[0], args[1])
        return func(*args, **kwargs)


def loss_fed(replayer, model, batch) -> LossFed | None:
    """The replayed training loss of ``model`` on ``batch``, with what its first torch.nn loss
    call was given; None when it makes none."""
    with torch.enable_grad(), _FirstLossCall() as watch:
        loss = replayer.loss(model, batch)
    if watch.found is None or not isinstance(loss, torch.Tensor):
        return None
    function, prediction, target = watch.found
    return LossFed(function, prediction, target, loss)


def class_weights(fed: LossFed, labels: torch.Tensor, classes: int) -> np.ndarray | None:
    """The weight the user's loss gives each class's rows relative to the loss call unweighted
    (one number per class, NaN for a class absent or whose rows pass no gradient); None when
    the prediction has no gradient or does not hold one value per label."""
    prediction, target = fed.prediction, fed.target
    labels = _per_element(labels, prediction)
    if not prediction.requires_grad or labels is None:
        return None
    weighted, = torch.autograd.grad(fed.loss, prediction, retain_graph=True)
    plain_loss = fed.function(prediction, target, reduction="sum")
    plain, = torch.autograd.grad(plain_loss, prediction)
    weighted, plain = weighted.reshape(-1).double(), plain.reshape(-1).double()
    moving = plain.abs() > SMALLEST_GRADIENT
    ratio = weighted / torch.where(moving, plain, torch.ones_like(plain))
    flat = labels.long()
    return np.array([float(ratio[(flat == c) & moving].mean()) if ((flat == c) & moving).any()
                     else float("nan") for c in range(classes)])


def _per_element(labels: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor | None:
    """Each prediction element's row label: the labels as they are for one value per row, each
    repeated over its row's values for a row of class scores; None when neither fits."""
    rows = labels.numel()
    if prediction.numel() == rows:
        return labels.reshape(-1)
    if prediction.dim() < 2 or prediction.shape[0] != rows:
        return None
    return labels.reshape(-1).repeat_interleave(prediction.numel() // rows)
