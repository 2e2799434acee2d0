"""FairseqOptimizer wrappers and the inverse_sqrt schedule (warmup, then lr ~ 1/sqrt(update))."""

import torch


class FairseqAdam:
    def __init__(self, args, params):
        self._optimizer = torch.optim.Adam(params, lr=args.lr[0], betas=eval(args.adam_betas),
                                           eps=args.adam_eps, weight_decay=args.weight_decay)

    @property
    def optimizer(self):
        return self._optimizer

    def get_lr(self):
        return self._optimizer.param_groups[0]["lr"]

    def set_lr(self, lr):
        for group in self._optimizer.param_groups:
            group["lr"] = lr

    def backward(self, loss):
        loss.backward()

    def multiply_grads(self, c):
        for group in self._optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.data.mul_(c)

    def clip_grad_norm(self, max_norm):
        params = [p for g in self._optimizer.param_groups for p in g["params"]]
        if max_norm > 0:
            return torch.nn.utils.clip_grad_norm_(params, max_norm)
        return torch.sqrt(sum(p.grad.data.norm() ** 2 for p in params if p.grad is not None))

    def step(self):
        self._optimizer.step()

    def zero_grad(self):
        self._optimizer.zero_grad()


class InverseSquareRootSchedule:
    def __init__(self, args, optimizer):
        self.optimizer = optimizer
        warmup_end_lr = args.lr[0]
        if args.warmup_init_lr < 0:
            args.warmup_init_lr = 0 if args.warmup_updates > 0 else warmup_end_lr
        self.lr_step = (warmup_end_lr - args.warmup_init_lr) / max(args.warmup_updates, 1)
        self.decay_factor = warmup_end_lr * args.warmup_updates ** 0.5
        self.warmup_updates, self.warmup_init_lr = args.warmup_updates, args.warmup_init_lr
        self.lr = args.warmup_init_lr
        self.optimizer.set_lr(self.lr)

    def step_update(self, num_updates):
        if num_updates < self.warmup_updates:
            self.lr = self.warmup_init_lr + num_updates * self.lr_step
        else:
            self.lr = self.decay_factor * num_updates ** -0.5
        self.optimizer.set_lr(self.lr)
        return self.lr
