"""The rule of a parameter update written by hand, read from one step's numbers.

torch.optim.SGD (heavy-ball momentum ``m``, weight decay ``wd``) changes a parameter ``p``
with gradient ``g`` by ``Δ = m Δ_prev - lr g - lr wd p``, where ``Δ_prev`` is the previous
step's change. Plain SGD written by hand (``p -= lr * p.grad``) is that rule with ``m = wd =
0``; a velocity kept by hand (``v = m * v + g; p -= lr * v``) has ``m``; a decay written into
the step (``p -= lr * (p.grad + wd * p)``) has ``wd``. So a step's change is fitted by least
squares on its gradient, its values and the previous change (when that step was watched
too), the simplest rule first; a rule is accepted when its fitted change points where the
real one does (``FIT_COSINE``). Anything else (Adam by hand, sign updates) fits no rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

#: How close (cosine) the fitted change must be to the real one for the rule to be accepted.
#: 1e-3 leaves room for float32 rounding; clip_grad_norm_ scales the gradient and keeps its
#: direction.
FIT_COSINE = 1 - 1e-3
#: The least share of a step's change a term beyond the gradient's must make to be part of the
#: rule. A fit of a term that is not there only absorbs float32 rounding: on the tests' and dev
#: scripts such terms made at most 3.6e-6 of the change (a decay of 4e-7 read into plain SGD
#: once its gradient had shrunk), while a weight decay of 0.1 beside a momentum made 3%.
TERM_SHARE = 1e-3
#: How many times less of the change a rule with more terms must leave unexplained to be taken
#: over a simpler one that fits: a term that is there takes the unexplained part down to
#: rounding (a decay of 0.1 beside a momentum: from 3% of the change to 1e-6), one that is not
#: only absorbs a little rounding (a momentum of 0.002 read into plain SGD at lr 1e-5, whose
#: change is mostly rounding, with TERM_SHARE alone).
RESIDUAL_GAIN = 10.0
#: Numbers (parameter elements) a step must have beyond a rule's terms for a rule with a term
#: beyond the gradient's to be read from it. A rule of k terms fits any k numbers exactly, and
#: on few more it leaves as little as the rounding happens to: a linear regression's w and b
#: (two numbers) updated by plain SGD at 0.05 were read as lr 0.0004, momentum 0.77 and weight
#: decay 105, whose replay blew up. With 8 spare numbers, rounding alone leaves the simpler rule
#: RESIDUAL_GAIN times the richer one's residual with a chance of at most 1e-4 (an F test of
#: the added terms: F(2, 8) beyond 36), against 1% with 4 and 10% with 2.
SPARE_NUMBERS = 8
#: Significant digits kept of a fitted coefficient: float32 rounding leaves no more.
DIGITS = 6


@dataclass(frozen=True)
class Rule:
    """torch.optim.SGD's hyperparameters that make the same change."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0

    def hparams(self) -> dict:
        extra = {"momentum": self.momentum} if self.momentum else {}
        if self.weight_decay:
            extra["weight_decay"] = self.weight_decay
        return {"lr": self.lr, **extra}

    def richer(self, other: Rule | None) -> bool:
        """Whether this rule has a term ``other`` lacks (a momentum seen only once the
        previous change was known)."""
        return other is None or (bool(self.momentum) and not other.momentum) or (
            bool(self.weight_decay) and not other.weight_decay)


#: The terms a rule may have, by their column in StepSums: the gradient's, the previous
#: change's (momentum) and the values' (weight decay).
GRADIENT, PREVIOUS, VALUES = 0, 1, 2


class StepSums:
    """One step's numbers as the sums a least-squares fit needs (products of the change, the
    gradient, the previous change and the values, over every parameter), so that no
    parameter is copied or concatenated for it."""

    def __init__(self) -> None:
        self.gram = torch.zeros(3, 3, dtype=torch.float64)
        self.along = torch.zeros(3, dtype=torch.float64)  # each column with the change
        self.change_sq = 0.0
        self.has_previous = True
        self.numbers = 0  # parameter elements added

    @property
    def finite(self) -> bool:
        """False after a blow-up: a step of inf or NaN values shows no rule."""
        return math.isfinite(self.change_sq) and bool(torch.isfinite(self.gram).all())

    @property
    def telling(self) -> bool:
        """Whether a rule can be read: finite numbers, a change and a gradient (a step at a
        rate of 0, or with no gradient, says nothing about the rule)."""
        return self.finite and self.change_sq > 0 and float(self.gram[GRADIENT, GRADIENT]) > 0

    @torch.no_grad()
    def add(self, change: torch.Tensor, gradient: torch.Tensor, values: torch.Tensor,
            previous: torch.Tensor | None) -> None:
        """One parameter's change, the gradient the update used, its values before the change
        and the previous step's change (None when that step was not watched)."""
        if previous is None:
            self.has_previous = False
            previous = torch.zeros_like(change)
        columns = [-gradient.double(), previous.double(), -values.double()]
        change = change.double()
        for i, a in enumerate(columns):
            self.along[i] += float((a * change).sum())
            for j in range(i, 3):
                self.gram[i, j] = self.gram[j, i] = self.gram[i, j] + float((a * columns[j]).sum())
        self.change_sq += float((change * change).sum())
        self.numbers += change.numel()


def fitted_rule(sums: StepSums) -> Rule | None:
    """The simplest SGD rule that makes this step's change, unless one with more terms leaves
    RESIDUAL_GAIN times less of it unexplained; None when none fits, or when the numbers are
    not finite (a blown-up step shows no rule)."""
    if not sums.telling:
        return None
    best = None
    for terms in ((GRADIENT,), (GRADIENT, VALUES), (GRADIENT, PREVIOUS),
                  (GRADIENT, PREVIOUS, VALUES)):
        fit = _fit(sums, terms) if _readable(sums, terms) else None
        if fit is not None and (best is None or fit[1] * RESIDUAL_GAIN < best[1]):
            best = fit
    return best[0] if best is not None else None


def _readable(sums: StepSums, terms: tuple[int, ...]) -> bool:
    """Whether a rule of these terms can be read from the step: a momentum needs the previous
    change, a term beyond the gradient's SPARE_NUMBERS more numbers than the rule has terms."""
    if PREVIOUS in terms and not sums.has_previous:
        return False
    return len(terms) == 1 or sums.numbers >= len(terms) + SPARE_NUMBERS


def _fit(sums: StepSums, terms: tuple[int, ...]) -> tuple[Rule, float] | None:
    """The rule of these terms that fits best, and the squared change it leaves unexplained;
    None when it does not fit (FIT_COSINE), a
    term beyond the gradient's makes less than TERM_SHARE of the change, or it is not SGD's
    (a negative rate or decay, a momentum of 1 or more)."""
    index = torch.tensor(terms)
    gram, along = sums.gram[index][:, index], sums.along[index]
    try:
        solution = torch.linalg.solve(gram, along)
    except RuntimeError:  # singular: a term that is zero (no previous change yet)
        return None
    fitted_sq, fitted_along = float(solution @ gram @ solution), float(solution @ along)
    if fitted_sq <= 0 or fitted_along / math.sqrt(fitted_sq * sums.change_sq) < FIT_COSINE:
        return None
    shares = (abs(solution) * gram.diagonal().sqrt() / math.sqrt(sums.change_sq)).tolist()
    if any(share < TERM_SHARE for share in shares[1:]):
        return None
    found = dict(zip(terms, solution.tolist(), strict=True))
    lr, momentum = found[GRADIENT], found.get(PREVIOUS, 0.0)
    decay = found.get(VALUES, 0.0) / lr if lr > 0 else -1.0
    if not (lr > 0 and math.isfinite(lr) and 0 <= momentum < 1 and decay >= 0):
        return None
    residual = max(sums.change_sq - fitted_along, 0.0)
    return Rule(_rounded(lr), _rounded(momentum), _rounded(decay)), residual


def _rounded(value: float) -> float:
    return float(f"{value:.{DIGITS}g}")
