"""The peak rate a cyclical scheduler was given, which the optimizer's groups do not hold.

OneCycleLR writes its ``max_lr`` into each parameter group; CyclicLR keeps ``max_lrs`` on the
scheduler and leaves the groups at ``base_lr``. A run whose CyclicLR is stepped once an epoch
instead of once a batch never climbs far towards that peak (fresh29 s05: a Lightning scheduler
returned without ``'interval': 'step'``, 1.76e-3 reached of a 0.05 peak), and lr_schedule can
only tell so when it knows the peak. Like lr_reactive's plateau scheduler, it is found among
the objects that hold the optimizer, once a run."""

from __future__ import annotations

import torch

from lossdoctor.capture.lr_reactive import schedulers_of


def scheduled_peak(optimizer: torch.optim.Optimizer) -> float | None:
    """The first group's peak of a scheduler holding ``optimizer`` that keeps its peaks as
    ``max_lrs`` (torch's CyclicLR), or None."""
    for holder in schedulers_of(optimizer):
        peaks = getattr(holder, "max_lrs", None)
        if isinstance(peaks, (list, tuple)):
            try:
                return float(peaks[0])
            except (TypeError, ValueError, IndexError):
                return None
    return None


def cycle_steps(optimizer: torch.optim.Optimizer) -> int | None:
    """The steps a one-cycle scheduler holding ``optimizer`` was sized for (torch's
    OneCycleLR keeps ``total_steps``: epochs * steps_per_epoch when given so), or None. A
    cycle sized from the dataset's rows instead of its batches is many times the run
    (bench/projects6's accelerate cv_example: 2,880 steps for a 90-step run)."""
    for holder in schedulers_of(optimizer):
        total = getattr(holder, "total_steps", None)
        if isinstance(total, int) and total > 0 and hasattr(holder, "_schedule_phases"):
            return total
    return None
