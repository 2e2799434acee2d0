"""The smallest and largest value a model predicts on kept batches: read by the checks that
ask what the output layer can produce (a clamp at zero, raw scores held at a BCE's clip bounds)."""

from __future__ import annotations

import copy

import torch

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import first_tensor
from lossdoctor.sandbox import isolated


def output_extremes(model, batches: list[Batch], predict) -> list[tuple[float, float] | None]:
    """Per batch, the smallest and largest value of ``predict(model, batch)`` (the replayer's:
    what the loss is given, with the batch as the script called the model) on a copy in eval
    mode without gradients (dropout zeroes values too); None for a batch the copy cannot score
    or whose prediction is no floating tensor."""
    with isolated(0), torch.no_grad():
        scoring = copy.deepcopy(model).eval()
        return [_extremes(scoring, batch, predict) for batch in batches]


def _extremes(model, batch: Batch, predict) -> tuple[float, float] | None:
    try:
        output = first_tensor(predict(model, batch))
    except Exception:  # noqa: BLE001 - a batch the copy cannot score says nothing
        return None
    if output is None or not output.is_floating_point() or output.numel() == 0:
        return None
    return float(output.min()), float(output.max())
