"""SGD's usual learning rates: where a practitioner sets plain SGD's rate on purpose.

Both the learning-rate check and optimizer_choice read a plain-SGD run by where its rate sits
against them. Below them, the rate is the fault a practitioner fixes first (no one sets SGD
to 1e-5 on purpose: Adam's 1e-4 to 5e-4 kept after a switch to SGD, or a typo); inside them,
a plain SGD run whose steps are too small is fixed by momentum or Adam, the usual way to train
faster, before the rate (plain SGD's 0.01 with momentum 0.9 takes steps up to ten times as
long).
"""

from __future__ import annotations

#: The lowest of SGD's usual rates: 1e-3 (PyTorch's fine-tuning tutorial trains SGD(lr=0.001,
#: momentum=0.9)); the usual range runs up to 0.1 (He et al. 2016, ResNet on ImageNet).
SGD_LOWEST_USUAL_LR = 1e-3


#: Significant digits a rate is read to: a schedule's peak recomputed in floating point
#: (0.0009999999999999998 for a one-cycle schedule's max_lr=1e-3) is the rate the user wrote.
RATE_DIGITS = 3


def below_usual_sgd_rates(optimizer_name: str, lr: float) -> bool:
    """SGD (with or without momentum) at a rate below SGD_LOWEST_USUAL_LR."""
    return optimizer_name == "SGD" and float(f"{lr:.{RATE_DIGITS}g}") < SGD_LOWEST_USUAL_LR
