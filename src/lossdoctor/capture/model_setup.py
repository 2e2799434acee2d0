"""The model and optimizer as the first optimizer step finds them, described in plain numbers."""

from __future__ import annotations

import torch
from torch import nn

from lossdoctor.capture.scheduled_peak import cycle_steps, scheduled_peak
from lossdoctor.trace import Setup

#: Layers that behave differently in train and eval mode.
MODE_SENSITIVE = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)


def describe_optimizer(optimizer: torch.optim.Optimizer, setup: Setup) -> dict:
    """Fill in the optimizer's class and settings; returns its settings as they are: those of
    the first parameter group that trains (a positive lr), which replays train every
    parameter with. A first group at lr 0 (a frozen backbone by ``lr_mult=0``, mmengine's
    paramwise_cfg) would have every replay train nothing; a warmup from 0, where every
    group starts at 0, keeps the first group's."""
    hparams = training_settings(optimizer)
    setup.optimizer_class = type(optimizer).__name__
    setup.optimizer_hparams = plain(hparams)
    peak = None if "max_lr" in hparams else scheduled_peak(optimizer)
    if peak is not None:
        setup.optimizer_hparams["max_lr"] = peak
    cycle = cycle_steps(optimizer) if "max_lr" in hparams else None
    if cycle is not None:
        setup.optimizer_hparams["cycle_steps"] = cycle
    setup.lr_given = _given_lr(optimizer)
    return hparams


def training_settings(optimizer: torch.optim.Optimizer) -> dict:
    """The settings of the optimizer's first parameter group at a positive lr (its first
    group when none is)."""
    group = next((g for g in optimizer.param_groups if _positive(g.get("lr"))),
                 optimizer.param_groups[0])
    return {k: v for k, v in group.items() if k != "params"}


def _positive(lr) -> bool:
    try:
        return float(lr) > 0
    except (TypeError, ValueError, RuntimeError):
        return False


def _given_lr(optimizer: torch.optim.Optimizer) -> float | None:
    """The rate the optimizer was built with: a torch scheduler keeps it as ``initial_lr``;
    ``defaults`` keeps the constructor's, which a schedule written by hand does not change."""
    given = optimizer.param_groups[0].get("initial_lr", optimizer.defaults.get("lr"))
    try:
        return float(given)
    except (TypeError, ValueError):
        return None


def describe_model(model: nn.Module, setup: Setup) -> None:
    setup.model_class = type(model).__name__
    setup.parameter_count = sum(p.numel() for p in model.parameters())
    setup.layers = [
        {"name": name, "type": type(m).__name__, "parameters": _own_parameters(m)}
        for name, m in model.named_modules()
        if name and not list(m.children())
    ]
    setup.mode_sensitive_layers = sum(isinstance(m, MODE_SENSITIVE) for m in model.modules())


#: The model's name in the setup when the parameters are tensors held by no nn.Module.
PARAMETER_TENSORS = "parameter tensors"


def describe_tensors(params: list[torch.Tensor], setup: Setup) -> None:
    """Parameters held by no nn.Module: the model is the tensors themselves."""
    setup.model_class = PARAMETER_TENSORS
    setup.parameter_count = sum(p.numel() for p in params if p.requires_grad)
    setup.layers = [{"name": f"tensor {i}", "type": "Tensor", "parameters": p.numel()}
                    for i, p in enumerate(params)]


def describe_untrained(model: nn.Module, optimizer: torch.optim.Optimizer, setup: Setup) -> None:
    """The model's parameters that will not train (frozen, or left out of the optimizer), and
    the optimizer's parameters outside the model that no backward pass reached: an optimizer
    built for another model. Those with gradients are a module the run also trains (a
    seq2seq's encoder, when the decoder was called last before the first step)."""
    optimized_ids = {id(p) for p in optimized(optimizer)}
    in_model = {id(p) for p in model.parameters()}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            setup.requires_grad_off[name] = param.numel()
        elif id(param) not in optimized_ids:
            setup.not_in_optimizer[name] = param.numel()
    setup.optimizer_elements_outside_model = sum(
        p.numel() for p in optimized(optimizer) if id(p) not in in_model and p.grad is None
    )


def optimized(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def trained_by(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The optimizer's tensors in groups at a positive learning rate (a group at lr 0 is a
    part frozen by its rate)."""
    return [p for group in optimizer.param_groups if _positive(group.get("lr"))
            for p in group["params"]]


def public_settings(loss_fn) -> dict:
    if not isinstance(loss_fn, nn.Module):
        return {}
    return {k: v for k, v in vars(loss_fn).items() if k != "training"}


def plain(mapping: dict) -> dict:
    """Only the JSON-friendly scalar settings (lr, momentum, betas, weight_decay, ...)."""
    result = {}
    for key, value in mapping.items():
        if key.startswith("_"):
            continue
        if isinstance(value, (bool, int, float, str)) or value is None:
            result[key] = value
        elif isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
            result[key] = list(value)
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            result[key] = float(value)
    return result


def _own_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))
