"""Whether a hand-written loss broadcasts its prediction against its target: ``((out - y) **
2).mean()`` with ``out`` (N, 1) and ``y`` (N,) compares every prediction with every target, as
nn.MSELoss does on those shapes. No torch.nn loss call shows the shapes, so the loss is replayed
on a kept batch and its value held against the elementwise loss it is alike, computed both ways:
broadcast, and with the target given the prediction's shape. A loss that reshapes for itself
(``out.squeeze(-1) - y``) gives the second value and is left alone.

An untrained model predicts about the same value for every row, and then both ways give about
the same loss (they differ by the spread of the predictions, a few thousandths of a loss of 1
on dev: 1.0134 against 1.0114, inside the likeness tolerance). The loss is then replayed once
more with the model's output replaced by the target itself, in the prediction's shape: matched,
that is a loss of 0; broadcast, every target against every other, twice their variance."""

from __future__ import annotations

import math

import torch

from lossdoctor.capture.loss_likeness import LIKENESS_TOLERANCE, broadcast_value


def broadcasts(replayer, model, batch, prediction: torch.Tensor, alike: str) -> bool:
    """Whether the user's loss of ``model`` on ``batch`` is the broadcast ``alike`` loss of
    ``prediction`` and the batch's target, and not the same loss with shapes matched."""
    target = batch.target
    if not isinstance(target, torch.Tensor) or prediction.shape == target.shape:
        return False
    target = target.to(prediction.device)
    told = _told_apart(_data_loss(replayer, model, batch), prediction, target, alike)
    if told is None:
        told = _told_apart_at_the_target(replayer, model, batch, prediction, target, alike)
    return bool(told)


def _told_apart(value: float, prediction: torch.Tensor, target: torch.Tensor,
                alike: str) -> bool | None:
    """True when ``value`` is the broadcast loss and not the matched one, False when it is
    not the broadcast one, None when it is both (the two are too close to tell apart)."""
    spread = broadcast_value(alike, prediction, target, matched=False)
    if spread is None or not _close(value, spread):
        return False
    matched = broadcast_value(alike, prediction, target, matched=True)
    if matched is None or not _close(value, matched):
        return True
    return None


def _told_apart_at_the_target(replayer, model, batch, prediction: torch.Tensor,
                              target: torch.Tensor, alike: str) -> bool | None:
    """The same question with the model's output replaced by the target, in the prediction's
    shape (a forward hook on the model, removed after): where the two ways differ most."""
    if prediction.numel() != target.numel() or not isinstance(model, torch.nn.Module):
        return None
    perfect = target.reshape(prediction.shape).to(prediction.dtype)

    def outputs_target(_module, _inputs, output):
        same = isinstance(output, torch.Tensor) and output.shape == perfect.shape
        return perfect.to(output.device) if same else output

    handle = model.register_forward_hook(outputs_target)
    try:
        value = _data_loss(replayer, model, batch)
    finally:
        handle.remove()
    return _told_apart(value, perfect, target, alike)


def _data_loss(replayer, model, batch) -> float:
    """The user's loss without a penalty on the weights, which the likeness leaves out too."""
    replay = replayer.copies.replay_loss
    term = getattr(replay, "data_term", None)
    with torch.no_grad():
        return float(replayer.loss(model, batch, training_loss=term).detach().float().mean())


def _close(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isclose(a, b, rel_tol=LIKENESS_TOLERANCE)
