"""Numbers in the checks' verdicts, written as a practitioner writes them."""

from __future__ import annotations

import math

#: Numbers from 100 up to this are written whole (119,995); larger ones with three significant
#: digits (4.93e+10), as the report's summary and tables write them (report._common's
#: WHOLE_NUMBERS_BELOW): unscaled_targets_house_prices' verdict wrote the loss the summary calls
#: 4.93e+10 as 49,256,237,056, digits a float32 loss does not hold.
WHOLE_BELOW = 1e6


def plain_number(value: float) -> str:
    """A number as a practitioner writes it: 1,000 and 46 and 0.693, and 4.93e+10."""
    if not math.isfinite(value):
        return "infinite"
    if 100 <= abs(value) < WHOLE_BELOW:
        return f"{value:,.0f}"
    return f"{value:.3g}"


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
