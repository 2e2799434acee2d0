"""An optimizer wrapper and the inverse_sqrt schedule in the manner of fairseq.optim: backward,
multiply_grads (the trainer divides the summed gradients by the sample size), clip_grad_norm,
and a scheduler stepped per update (`step_update`)."""

import torch


class FairseqAdam:
    def __init__(self, args, params):
        self._optimizer = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.98), eps=1e-8,
                                           weight_decay=args.weight_decay)

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

    def _params(self):
        return [p for g in self._optimizer.param_groups for p in g["params"] if p.grad is not None]

    def multiply_grads(self, c):
        for p in self._params():
            p.grad.data.mul_(c)

    def clip_grad_norm(self, max_norm):
        if max_norm > 0:
            return torch.nn.utils.clip_grad_norm_(self._params(), max_norm)
        return torch.norm(torch.stack([p.grad.norm() for p in self._params()]))

    def step(self):
        self._optimizer.step()

    def zero_grad(self):
        self._optimizer.zero_grad()


class InverseSquareRootSchedule:
    """Linear warmup from warmup_init_lr to lr over warmup_updates, then decay by the inverse
    square root of the update number."""

    def __init__(self, args, optimizer):
        self.optimizer = optimizer
        self.warmup_init_lr = args.warmup_init_lr
        self.lr_step = (args.lr - args.warmup_init_lr) / args.warmup_updates
        self.warmup_updates = args.warmup_updates
        self.decay_factor = args.lr * args.warmup_updates ** 0.5
        self.optimizer.set_lr(self.warmup_init_lr)

    def step_update(self, num_updates):
        if num_updates < self.warmup_updates:
            lr = self.warmup_init_lr + num_updates * self.lr_step
        else:
            lr = self.decay_factor * num_updates ** -0.5
        self.optimizer.set_lr(lr)
        return lr
