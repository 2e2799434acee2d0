"""Whether a hand-written loss broadcasts its prediction against its target: ``((out - y) **
2).mean()`` with ``out`` (N, 1) and ``y`` (N,) compares every prediction with every target, as
nn.MSELoss does on those shapes. No torch.nn loss call shows the shapes, so the loss is replayed
on a kept batch and its value held against the elementwise loss it is alike, computed both ways:
broadcast, and with the target given the prediction's shape. A loss that reshapes for itself
(``out.squeeze(-1) - y``) gives the second value and is left alone."""

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
    spread = broadcast_value(alike, prediction, target, matched=False)
    if spread is None:
        return False
    value = _data_loss(replayer, model, batch)
    matched = broadcast_value(alike, prediction, target, matched=True)
    return _close(value, spread) and (matched is None or not _close(value, matched))


def _data_loss(replayer, model, batch) -> float:
    """The user's loss without a penalty on the weights, which the likeness leaves out too."""
    replay = replayer.copies.replay_loss
    term = getattr(replay, "data_term", None)
    with torch.no_grad():
        return float(replayer.loss(model, batch, training_loss=term).detach().float().mean())


def _close(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isclose(a, b, rel_tol=LIKENESS_TOLERANCE)
