"""Numbers in the checks' verdicts, written as a practitioner writes them."""

from __future__ import annotations

import math

from lossdoctor.numbers import written


def plain_number(value: float) -> str:
    """A number as a practitioner writes it: 1,000 and 46 and 0.693, and 4.93e+10."""
    if not math.isfinite(value):
        return "infinite"
    return written(value)


def plain_share(fraction: float) -> str:
    """A share in whole percent that says 100% only when it is all and 0% only when it is none:
    17,856 of 17,922 is "over 99%", not "100%" next to the 66 that are not."""
    percent = 100 * fraction
    if 99 < percent < 100:
        return "over 99%"
    if 0 < percent < 1:
        return "under 1%"
    return f"{percent:.0f}%"


def plain_lr(lr: float, digits: int = 1) -> str:
    """A learning rate as people write it: 1.0, 0.01, 3e-5 (to ``digits`` significant digits)."""
    text = repr(float(f"{lr:.{digits}g}"))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    return text
