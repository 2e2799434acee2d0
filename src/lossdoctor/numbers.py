"""Numbers as a practitioner writes them, one rule for the curves' sentences, the checks'
verdicts and the report's tables."""

from __future__ import annotations

#: Numbers up to this are written whole (119,995); larger ones with significant digits
#: (4.93e+10): a float32 loss that large is whole by construction from 2**24 on, and its last
#: digits mean nothing (unscaled_targets_house_prices' verdict wrote the loss the summary calls
#: 4.93e+10 as 49,256,237,056).
WHOLE_BELOW = 1e6


def written(value: float, digits: int = 3, whole_from: float = 100) -> str:
    """``value`` whole with thousands separators from ``whole_from`` up to WHOLE_BELOW, else
    with ``digits`` significant digits: 119,995 and 0.693 and 4.93e+10."""
    if whole_from <= abs(value) < WHOLE_BELOW:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"
