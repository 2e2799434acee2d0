"""SGD's and Adam's usual learning rates: where a practitioner sets an optimizer's rate on
purpose.

Both the learning-rate check and optimizer_choice read a plain-SGD run by where its rate sits
against them. Below SGD's, the rate is the fault a practitioner fixes first (no one sets SGD
to 1e-5 on purpose: Adam's 1e-4 to 5e-4 kept after a switch to SGD, or a typo); inside them,
a plain SGD run whose steps are too small is fixed by momentum or Adam, the usual way to train
faster, before the rate (plain SGD's 0.01 with momentum 0.9 takes steps up to ten times as
long). Below Adam's usual rates as well, no optimizer a practitioner would switch to runs at
that rate: the rate is part of any fix, and is named first even where Adam at its own usual
rate is measured to beat every plain SGD rate (optimizer_choice).
"""

from __future__ import annotations

#: The lowest of SGD's usual rates: 1e-3 (PyTorch's fine-tuning tutorial trains SGD(lr=0.001,
#: momentum=0.9)); the usual range runs up to 0.1 (He et al. 2016, ResNet on ImageNet).
SGD_LOWEST_USUAL_LR = 1e-3

#: Adam's usual rates (training from scratch): 1e-4 to 1e-2, around Kingma & Ba's default 1e-3
#: (3e-4 is common for transformers; above 1e-2 each weight moves tens of times its default
#: step whatever its gradient).
ADAM_LOWEST_USUAL_LR = 1e-4
ADAM_HIGHEST_USUAL_LR = 1e-2


#: Significant digits a rate is read to: a schedule's peak recomputed in floating point
#: (0.0009999999999999998 for a one-cycle schedule's max_lr=1e-3) is the rate the user wrote.
RATE_DIGITS = 3


def below_usual_sgd_rates(optimizer_name: str, lr: float) -> bool:
    """SGD (with or without momentum) at a rate below SGD_LOWEST_USUAL_LR."""
    return optimizer_name == "SGD" and as_written(lr) < SGD_LOWEST_USUAL_LR


def below_every_usual_rate(lr: float) -> bool:
    """A rate below SGD's usual ones and Adam's (ADAM_LOWEST_USUAL_LR): no optimizer a
    practitioner switches to runs there, so any fix changes the rate."""
    return as_written(lr) < min(ADAM_LOWEST_USUAL_LR, SGD_LOWEST_USUAL_LR)


def inside_adams_usual_rates(lr: float) -> bool:
    return ADAM_LOWEST_USUAL_LR <= as_written(lr) <= ADAM_HIGHEST_USUAL_LR


def as_written(lr: float) -> float:
    """``lr`` to RATE_DIGITS significant digits: the rate the user wrote."""
    return float(f"{lr:.{RATE_DIGITS}g}")
