"""Learning rates cut on a plateau (``generate --plateau``, issue 11): the case's schedule
replaced by ReduceLROnPlateau stepped on each epoch's validation loss, as Lightning's
``configure_optimizers`` with ``"monitor": "val_loss"``, Keras' callback and many forum scripts
write it. Such a schedule answers the run's own losses: a fault that makes the validation loss
stall or swing makes it cut the rate, so a twin and its broken case train at different rates.

A case is rewritten (twin and broken alike) when both have a validation set and its fault is
not in the schedule. Without the flag nothing here is used, so what ``generate`` writes for
every seed stays as it was."""

from __future__ import annotations

from .manual import SCHEDULE_FAULTS
from .program import Program
from .text import variant

#: (factor, patience) pairs people write: torch's factor 0.1 with a short patience, and the
#: gentler halving of Lightning and Keras examples.
SETTINGS = ((0.5, 1), (0.5, 2), (0.1, 2), (0.2, 1))


def can_plateau(cause: str, operator: str, *programs: Program) -> bool:
    return (cause not in SCHEDULE_FAULTS and operator not in SCHEDULE_FAULTS
            and all(p.data.has_val and p.train.update != "manual" for p in programs))


def made_plateau(p: Program) -> Program:
    return p.with_train(schedule="plateau")


def plateau_scheduler(p: Program) -> str:
    factor, patience = SETTINGS[variant(p.seed, "plateau", len(SETTINGS))]
    return (f"torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor={factor}, "
            f"patience={patience})")
