"""Numbers in the checks' verdicts, written as a practitioner writes them."""

from __future__ import annotations

import math


def plain_number(value: float) -> str:
    """A number as a practitioner writes it: 1,000 and 46 and 0.693."""
    if not math.isfinite(value):
        return "infinite"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def plain_lr(lr: float, digits: int = 1) -> str:
    """A learning rate as people write it: 1.0, 0.01, 3e-5 (to ``digits`` significant digits)."""
    text = repr(float(f"{lr:.{digits}g}"))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    return text
