"""The trained model scored with its BatchNorm statistics recomputed over the training rows.

BatchNorm evaluates with running averages of the statistics of the training batches. From
batches of a row or two those averages are noisy (Wu and Johnson 2021, "Rethinking 'Batch' in
BatchNorm", section 3: statistics from small batches, averaged with momentum, are inaccurate),
so each validation pass of such a run reads the trained weights through another draw of them
and the validation curve wobbles from pass to pass. Recomputed as a plain mean over the
training rows in batches of a usual size ("precise BN", their section 3.2), they are one
reading of where the trained weights got, without that noise.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.checks._rebatch import rebatch
from lossdoctor.sandbox import isolated


def recomputed_statistics_loss(replayer, model: nn.Module, pool: Batch,
                               batch: int) -> float | None:
    """The validation loss of a copy of ``model`` whose BatchNorm layers' running statistics
    are recomputed as the mean over the training rows of ``pool`` in batches of ``batch``;
    None without a BatchNorm layer, validation rows or a whole batch of training rows."""
    batches = rebatch(pool, batch)
    if not batches or not replayer.validation_batches:
        return None
    model = copy.deepcopy(model)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return None
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative mean over the batches, not a moving average
    model.train()
    with isolated(0), torch.no_grad():
        for rows in batches:
            replayer.scored_loss(model, rows)
    return replayer.evaluate(model, replayer.validation_batches)
