"""Validation losses in the words a script prints or logs: "val_loss 0.693", "epoch 3 val loss:
0.61", "| valid loss 5.50 |", "Test set: Average loss: 0.0521", "{'eval_loss': 0.69}"."""

from __future__ import annotations

import re

#: Words that name a held-out split, standing alone ("val_loss", "loss/val"; not "interval").
SPLIT = r"(?<![a-z])(?:val|valid|validation|eval|evaluation|test|dev)(?![a-z])"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
#: The split's word, a few words without numbers or separators ("set: average"), "loss", and
#: the number right after it.
PRINTED_VALIDATION_LOSS = re.compile(
    SPLIT + r"[^\d\n,;|()\[\]{}]{0,24}?(?<![a-z])loss(?![a-z])['\"]?\s*[:=]?\s*(" + NUMBER + ")"
)
VALIDATION_LOSS_NAME = re.compile(SPLIT)


def printed_validation_loss(line: str) -> float | None:
    """The validation loss a printed line gives, or None."""
    lowered = line.lower()
    if "loss" not in lowered:
        return None
    found = PRINTED_VALIDATION_LOSS.search(lowered)
    return float(found.group(1)) if found else None


def is_validation_loss_name(name: str) -> bool:
    """A TensorBoard tag or logged name for a validation loss: "val/loss", "eval_loss"."""
    lowered = name.lower()
    return "loss" in lowered and VALIDATION_LOSS_NAME.search(lowered) is not None
