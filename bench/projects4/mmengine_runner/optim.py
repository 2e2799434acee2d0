"""OptimWrapper with paramwise_cfg (custom_keys with lr_mult / decay_mult) and parameter
schedulers in the manner of mmengine.optim; a scheduler `by_epoch` steps once an epoch,
otherwise once an iteration."""

import torch

from registry import PARAM_SCHEDULERS


class OptimWrapper:
    def __init__(self, optimizer):
        self.optimizer = optimizer

    def update_params(self, loss):
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()

    @property
    def param_groups(self):
        return self.optimizer.param_groups


def build_optim_wrapper(model, cfg):
    opt_cfg = dict(cfg["optimizer"])
    opt_type = opt_cfg.pop("type")
    base_lr, base_wd = opt_cfg["lr"], opt_cfg.get("weight_decay", 0.0)
    custom_keys = cfg.get("paramwise_cfg", {}).get("custom_keys", {})
    groups = []
    for name, param in model.named_parameters():
        group = {"params": [param], "lr": base_lr, "weight_decay": base_wd}
        for key in sorted(custom_keys, key=len, reverse=True):
            if key in name:
                group["lr"] = base_lr * custom_keys[key].get("lr_mult", 1.0)
                group["weight_decay"] = base_wd * custom_keys[key].get("decay_mult", 1.0)
                break
        groups.append(group)
    return OptimWrapper(getattr(torch.optim, opt_type)(groups, **opt_cfg))


@PARAM_SCHEDULERS.register_module()
class MultiStepLR:
    def __init__(self, optimizer, milestones, gamma=0.1, by_epoch=True):
        self.optimizer = optimizer
        self.milestones = set(milestones)
        self.gamma = gamma
        self.by_epoch = by_epoch
        self.last_step = 0

    def step(self):
        self.last_step += 1
        if self.last_step in self.milestones:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.gamma
