"""Training steps written by hand (``generate --manual-updates``, issue 11): the optimizer's
step rewritten as the plain SGD update tutorials and courses write,
``param -= LR * param.grad`` under no_grad or through ``param.data``, with no torch.optim.

A case is rewritten (twin and broken alike) when its fault is not in the optimizer's schedule:
the schedule is left out (a hand-written step has none) and the optimizer becomes plain SGD at
the rate that takes steps of the same size (below). Without the flag nothing here is used, so
what ``generate`` writes for every seed stays as it was."""

from __future__ import annotations

import math

from .bases import LR_RANGE
from .program import Program
from .text import indent, variant

#: Causes and operators whose fault is the schedule or lives in it: no hand-written version.
SCHEDULE_FAULTS = ("lr_schedule", "onecycle_peak_too_high")
#: Healthy rates of plain SGD written by hand, as courses use them (0.05 to 0.5: d2l's linear
#: regression 0.03, Nielsen's networks 0.5 to 3): where an adaptive optimizer's healthy range
#: (bases.LR_RANGE) maps to. At 0.045 (the range's middle for SGD with momentum 0.9, over
#: 1 - 0.9) a dev twin of Adam at 1e-3 did not learn (20101, gain 0.00).
PLAIN_SGD_RANGE = (0.05, 0.5)


def made_manual(p: Program) -> Program:
    """Plain SGD written by hand, at the rate of the same step size as ``p``'s optimizer."""
    t = p.train
    lr = float(f"{t.lr * _step_factor(t.optimizer, t.momentum):.2g}")
    decay = t.weight_decay
    if t.optimizer == "adamw" and decay:  # decoupled: the same shrink per step, lr * decay
        decay = float(f"{decay * t.lr / lr:.2g}")
    return p.with_train(optimizer="sgd", momentum=0.0, lr=lr, weight_decay=decay,
                        schedule="none", update="manual")


def _step_factor(optimizer: str, momentum: float) -> float:
    """How much larger plain SGD's rate must be to take the steps ``optimizer`` takes. SGD
    with heavy-ball momentum m moves, once its velocity has built up, 1 / (1 - m) times as
    far per step as plain SGD at the same rate; an adaptive optimizer's rate maps by the
    middles of the healthy ranges (its own in bases.LR_RANGE, PLAIN_SGD_RANGE)."""
    if optimizer == "sgd":
        return 1 / (1 - momentum)
    return _middle(PLAIN_SGD_RANGE) / _middle(LR_RANGE[optimizer])


def _middle(healthy: tuple[float, float]) -> float:
    low, high = healthy
    return math.sqrt(low * high)


def manual_step(p: Program, params: str) -> list[str]:
    """The update, in one of three ways people write it."""
    way = variant(p.seed, "manual_step", 3)
    data = "param" if way == 0 else "param.data"
    grad = f"(param.grad + WEIGHT_DECAY * {data})" if p.train.weight_decay else "param.grad"
    update = [f"param -= LR * {grad}", f"param.data.add_({grad}, alpha=-LR)",
              f"param.data -= LR * {grad}"][way]
    body = (["if param.grad is None:", "    continue"]
            if p.model.trainable == "freeze_body" else []) + [update]
    loop = [f"for param in {params}:", *indent(body)]
    return ["with torch.no_grad():", *indent(loop)] if way == 0 else loop


def manual_zero_grad(p: Program) -> list[str]:
    if p.model.style == "raw":
        return ["for param in params:", "    param.grad = None"]
    return ["model.zero_grad()"]
