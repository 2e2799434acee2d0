"""create_optimizer_v2 in the manner of timm.optim: no weight decay on biases and norm weights."""

import torch


def param_groups_weight_decay(model, weight_decay=1e-5):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    return [{"params": no_decay, "weight_decay": 0.0},
            {"params": decay, "weight_decay": weight_decay}]


def create_optimizer_v2(model, opt="sgd", lr=None, weight_decay=0.0, momentum=0.9):
    params = param_groups_weight_decay(model, weight_decay)
    if opt in ("sgd", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True)
    if opt == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=False)
    if opt == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    raise ValueError(opt)
