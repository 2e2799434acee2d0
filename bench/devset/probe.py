"""Run a generated script as `python script.py` would, then print the constant-guess loss.

    python probe.py SCRIPT LOSS_KIND TRAIN_TARGETS [EVAL_TARGETS]

The constant guess is the loss of the best prediction that ignores the inputs, fitted on the
training targets and scored on the evaluation targets (validation, or training when the script
keeps no validation set), in the script's own loss and units. It is printed last, on a line
starting with `devset-probe`, as JSON, with the CPU seconds the run took (torch's import
included)."""

from __future__ import annotations

import json
import math
import runpy
import sys
import time

PREFIX = "devset-probe"
#: Added to every class count, so a class unseen in training does not cost an infinite loss.
CLASS_PRIOR = 0.5


def constant_guess(kind: str, train, evaluated) -> float:
    """The best constant's loss; ``train`` and ``evaluated`` are target tensors."""
    train, evaluated = train.detach().double().flatten(), evaluated.detach().double().flatten()
    if kind in ("ce", "nll_raw"):
        return _class_guess(train.long(), evaluated.long())
    if kind == "bce":
        share = train.mean().clamp(1e-6, 1 - 1e-6)
        return float(-(evaluated * share.log() + (1 - evaluated) * (1 - share).log()).mean())
    if kind == "l1":
        return float((evaluated - train.median()).abs().mean())
    if kind == "huber":
        return min(_huber(evaluated - train.median()), _huber(evaluated - train.mean()))
    return float(((evaluated - train.mean()) ** 2).mean())


def _class_guess(train, evaluated) -> float:
    import torch

    classes = int(max(train.max(), evaluated.max())) + 1
    counts = torch.bincount(train, minlength=classes).double() + CLASS_PRIOR
    log_share = (counts / counts.sum()).log()
    return float(-log_share[evaluated].mean())


def _huber(error) -> float:
    import torch

    size = error.abs()
    return float(torch.where(size < 1, 0.5 * size ** 2, size - 0.5).mean())


def main() -> None:
    script, kind, train_name, *evaluated_name = sys.argv[1:]
    sys.argv = [script]
    namespace = runpy.run_path(script, run_name="__main__")
    evaluated = namespace[evaluated_name[0] if evaluated_name else train_name]
    value = constant_guess(kind, namespace[train_name], evaluated)
    found = {"constant": value if math.isfinite(value) else None,
             "cpu_seconds": round(time.process_time(), 2)}
    print(f"{PREFIX} {json.dumps(found)}")


if __name__ == "__main__":
    main()
