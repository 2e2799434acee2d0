import math

from .scheduler import Scheduler


class CosineLRScheduler(Scheduler):
    def __init__(self, optimizer, t_initial, lr_min=0.0, warmup_t=0, warmup_lr_init=0.0,
                 t_in_epochs=True):
        super().__init__(optimizer, "lr", t_in_epochs)
        self.t_initial, self.lr_min = t_initial, lr_min
        self.warmup_t, self.warmup_lr_init = warmup_t, warmup_lr_init
        if warmup_t:
            self.warmup_steps = [(v - warmup_lr_init) / warmup_t for v in self.base_values]
            self.update_groups([warmup_lr_init] * len(self.base_values))
        else:
            self.warmup_steps = [1 for _ in self.base_values]

    def _get_lr(self, t):
        if t < self.warmup_t:
            return [self.warmup_lr_init + t * s for s in self.warmup_steps]
        t = t - self.warmup_t
        span = max(self.t_initial - self.warmup_t, 1)
        return [self.lr_min + 0.5 * (v - self.lr_min) * (1 + math.cos(math.pi * min(t / span, 1)))
                for v in self.base_values]
