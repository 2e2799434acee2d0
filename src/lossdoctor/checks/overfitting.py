"""Validation loss rising from its best epoch while the training loss keeps falling.

Judged by tests, not a fixed tolerance: the validation losses from the best epoch on must rise
by a one-sided Kendall trend test, their rise must stand clear of the validation curve's own
noise, and the training loss must have gone on falling over the same epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from lossdoctor.checks._plain import plain_number
from lossdoctor.findings import Cause, Finding, Skip

#: Validation passes needed to see a minimum and a trend after it.
MIN_PASSES = 6
#: Passes from the best one on (it included) for a trend test: with five, a perfectly rising
#: sequence has a one-sided Kendall p of 1/120; with fewer, no test can be convincing.
MIN_TAIL = 5
#: The usual significance level for the trend test.
ALPHA = 0.05
#: The best validation loss is the minimum of noisy values, itself about two noise widths
#: below the curve's level; a rise must clear that and one more to stand out of the noise.
NOISE_WIDTHS = 3.0
#: A rise smaller than this share of the best loss is real but not worth acting on: stopping at
#: any late epoch would lose less than that.
PRACTICAL_RISE = 0.05
#: Last validation passes averaged for where the run ended up.
END_WINDOW = 3


@dataclass
class Curve:
    epochs: list[int]
    losses: list[float]

    @property
    def best(self) -> int:
        return int(np.argmin(self.losses))


@dataclass
class Rise:
    best_epoch: int
    best_loss: float
    end_loss: float
    p_value: float
    noise: float
    train_at_best: float
    train_end: float
    train_p_value: float

    @property
    def size(self) -> float:
        return self.end_loss - self.best_loss


def check(case) -> list[Finding]:
    curve = validation_curve(case.trace)
    rise = measure_rise(curve, case.trace.epoch_train_losses())
    if rise is None or not _overfits(rise):
        return []
    return [
        Finding(
            Cause.OVERFITTING,
            _confidence(rise),
            verdict=_verdict(rise, curve),
            evidence=_evidence(rise),
            fix=_fix(rise),
            details={"validation": curve.losses},
        )
    ]


def validation_curve(trace) -> Curve:
    passes = [p for p in trace.validation_passes() if math.isfinite(p.loss)]
    if len(passes) < MIN_PASSES:
        raise Skip(f"needs at least {MIN_PASSES} validation passes (evaluation losses between "
                   f"training epochs): {len(passes)} seen")
    return Curve([p.epoch for p in passes], [p.loss for p in passes])


def measure_rise(curve: Curve, train_epochs: list[tuple[int, float]]) -> Rise | None:
    """The validation curve from its best pass on, and the training loss over the same epochs;
    None when there are too few passes after the best to test a trend."""
    best = curve.best
    tail = curve.losses[best:]
    train = [loss for epoch, loss in train_epochs if epoch >= curve.epochs[best]]
    if len(tail) < MIN_TAIL or len(train) < 2:
        return None
    end = float(np.mean(curve.losses[-END_WINDOW:]))
    return Rise(curve.epochs[best], tail[0], end, _rising_p(tail), curve_noise(curve.losses),
                train[0], float(np.mean(train[-END_WINDOW:])), _rising_p([-v for v in train]))


def _rising_p(values: list[float]) -> float:
    """One-sided p-value of Kendall's tau for an upward trend (the Mann-Kendall test)."""
    tau = stats.kendalltau(np.arange(len(values)), values, alternative="greater")
    return float(tau.pvalue) if math.isfinite(tau.pvalue) else 1.0


def curve_noise(losses: list[float]) -> float:
    """Epoch-to-epoch noise of the curve: the robust spread of its second differences, which a
    steady trend does not inflate (for independent noise of width s they spread by sqrt(6) s).
    A curve that mostly repeats its values has no median spread; its mean spread is used."""
    second = np.diff(np.asarray(losses, dtype=float), n=2)
    if second.size == 0:
        return 0.0
    deviations = np.abs(second - np.median(second))
    spread = 1.4826 * float(np.median(deviations))
    if spread == 0:
        spread = math.sqrt(math.pi / 2) * float(np.mean(deviations))
    return spread / math.sqrt(6)


def _overfits(rise: Rise) -> bool:
    return (
        rise.p_value < ALPHA
        and rise.size > NOISE_WIDTHS * rise.noise
        and rise.size > PRACTICAL_RISE * abs(rise.best_loss)
        and rise.train_end < rise.train_at_best
        and rise.train_p_value < ALPHA
    )


def _confidence(rise: Rise) -> float:
    """0.6 for a rise that just passes; up to 0.9 as it grows to half the best loss or more.
    Overfitting follows from the model learning, so a cause that stops learning ranks above."""
    relative = rise.size / max(abs(rise.best_loss), 1e-12)
    return 0.6 + 0.3 * min(relative / 0.5, 1.0)


def _verdict(rise: Rise, curve: Curve) -> str:
    return (
        f"Your validation loss was lowest at epoch {rise.best_epoch} "
        f"({plain_number(rise.best_loss)}) and has risen since, to {plain_number(rise.end_loss)} "
        f"over the last epochs, while the training loss kept falling from "
        f"{plain_number(rise.train_at_best)} to {plain_number(rise.train_end)}: the model is "
        f"memorizing the training rows instead of learning what carries over. The rise is a "
        f"steady trend (Kendall test {_p_text(rise.p_value)}) and "
        f"{_noise_ratio(rise)} the epoch-to-epoch noise of the validation loss."
    )


def _p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"


def _noise_ratio(rise: Rise) -> str:
    if rise.noise <= 0:
        return "far above"
    return f"{rise.size / rise.noise:.0f} times"


def _fix(rise: Rise) -> str:
    return (f"Stop at epoch {rise.best_epoch}, where the validation loss was best (early "
            f"stopping, or keep that epoch's checkpoint); add regularization (weight decay, "
            f"dropout, data augmentation), use a smaller model, or get more data.")


def _evidence(rise: Rise) -> dict[str, float]:
    return {
        "best_epoch": float(rise.best_epoch),
        "best_val_loss": rise.best_loss,
        "final_val_loss": rise.end_loss,
        "val_rise_p_value": rise.p_value,
        "val_noise": rise.noise,
        "train_loss_at_best": rise.train_at_best,
        "train_loss_final": rise.train_end,
        "train_fall_p_value": rise.train_p_value,
    }
