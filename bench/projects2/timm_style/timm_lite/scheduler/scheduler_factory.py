"""create_scheduler_v2 as timm writes it: the schedule is in epochs unless sched_on_updates."""

from .cosine_lr import CosineLRScheduler
from .step_lr import StepLRScheduler


def create_scheduler_v2(optimizer, sched="cosine", num_epochs=10, decay_epochs=3, decay_rate=0.1,
                        min_lr=0.0, warmup_lr=1e-4, warmup_epochs=0, sched_on_updates=False,
                        updates_per_epoch=0):
    t_initial, warmup_t, decay_t = num_epochs, warmup_epochs, decay_epochs
    if sched_on_updates:
        t_initial, warmup_t = t_initial * updates_per_epoch, warmup_t * updates_per_epoch
        decay_t = decay_t * updates_per_epoch
    if sched == "cosine":
        scheduler = CosineLRScheduler(optimizer, t_initial=t_initial, lr_min=min_lr,
                                      warmup_t=warmup_t, warmup_lr_init=warmup_lr,
                                      t_in_epochs=not sched_on_updates)
    elif sched == "step":
        scheduler = StepLRScheduler(optimizer, decay_t=decay_t, decay_rate=decay_rate,
                                    warmup_t=warmup_t, warmup_lr_init=warmup_lr,
                                    t_in_epochs=not sched_on_updates)
    else:
        raise ValueError(sched)
    return scheduler, num_epochs
