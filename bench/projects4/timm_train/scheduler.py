"""Optimizer and scheduler factories in the manner of timm.optim / timm.scheduler: a cosine
schedule with linear warmup, stepped per epoch (`step`) and per update (`step_update`)."""

import math

import torch


def create_optimizer(args, model):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    groups = [{"params": no_decay, "weight_decay": 0.0},
              {"params": decay, "weight_decay": args.weight_decay}]
    if args.opt == "sgd":
        return torch.optim.SGD(groups, lr=args.lr, momentum=args.momentum, nesterov=True)
    if args.opt == "adamw":
        return torch.optim.AdamW(groups, lr=args.lr)
    raise ValueError(args.opt)


class CosineLRScheduler:
    def __init__(self, optimizer, t_initial, lr_min=1e-5, warmup_t=0, warmup_lr_init=1e-5):
        self.optimizer = optimizer
        self.t_initial = t_initial
        self.lr_min = lr_min
        self.warmup_t = warmup_t
        self.warmup_lr_init = warmup_lr_init
        self.base_values = [g["lr"] for g in optimizer.param_groups]
        self._set(0)

    def _get_lr(self, t):
        if t < self.warmup_t:
            return [self.warmup_lr_init + t * (v - self.warmup_lr_init) / self.warmup_t
                    for v in self.base_values]
        t = t - self.warmup_t
        total = self.t_initial - self.warmup_t
        return [self.lr_min + 0.5 * (v - self.lr_min) * (1 + math.cos(math.pi * t / total))
                for v in self.base_values]

    def _set(self, t):
        for group, lr in zip(self.optimizer.param_groups, self._get_lr(t)):
            group["lr"] = lr

    def step(self, epoch):
        self._set(epoch)

    def step_update(self, num_updates):
        pass


def create_scheduler(args, optimizer):
    scheduler = CosineLRScheduler(optimizer, t_initial=args.epochs, lr_min=args.min_lr,
                                  warmup_t=args.warmup_epochs, warmup_lr_init=args.warmup_lr)
    return scheduler, args.epochs
