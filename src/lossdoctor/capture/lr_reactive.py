"""Whether the learning rate is cut by a scheduler that watches the run's own metric.

torch's ``ReduceLROnPlateau`` (which Lightning's ``"monitor"`` and Hugging Face's
``reduce_lr_on_plateau`` use too) cuts the rate when the validation loss stops improving. Its
cuts are a response to the run, not a plan: a fault that makes the loss stall or swing makes
it cut early, and a replay of the fixed training would not have had those cuts. Such a
scheduler holds the optimizer (its ``optimizer`` attribute), which is how it is found: once,
when the rate first falls."""

from __future__ import annotations

import gc

import torch


def cut_on_plateau(optimizer: torch.optim.Optimizer) -> bool:
    """Whether a ReduceLROnPlateau holds ``optimizer``. One scan of the objects that refer to
    it (about 0.1 s in a process that imported torch), taken once per run."""
    return any(isinstance(holder, torch.optim.lr_scheduler.ReduceLROnPlateau)
               and holder.optimizer is optimizer for holder in gc.get_referrers(optimizer))
