"""Small helpers for writing script text."""

from __future__ import annotations

import hashlib


def variant(seed: int, key: str, count: int) -> int:
    """A stable choice among ``count`` ways of writing the same thing, from the case seed.

    Rendering draws its style choices here rather than from a shared random stream, so a fault
    that changes one part of a program leaves the wording of every other part as it was."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % count


def indent(lines: list[str], levels: int = 1) -> list[str]:
    pad = "    " * levels
    return [pad + line if line else line for line in lines]


def number(value: float) -> str:
    """A float the way people write it in a script: 0.003 -> 3e-3, 0.5 -> 0.5."""
    if value == 0:
        return "0.0"
    if 1e-2 <= abs(value) < 1e4:
        text = f"{value:.4g}"
        return text if "." in text or "e" in text else f"{text}.0"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"
