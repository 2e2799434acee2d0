"""How much of what a model learned about its training rows carries over to its validation
rows: the share of the way from the constant guess down to the training loss that the
validation loss covers. overfitting reads it from the run's own curves, train_val_shift from
the replay on rows a classifier tells apart; one measure, one bar."""

from __future__ import annotations

import math

#: A model carries over "little" when its validation loss has come less than this share of
#: the way from the constant guess down to its training loss: it learned more than twice as
#: much about its training rows as carries over to new ones. On 34 dev cases' printed curves
#: (docs/devset.md, session 9): 29 of 30 fixed twins carry over 76-108%, the 30th (12083's)
#: 37%, its validation loss rising (the rise rule's finding already); among the broken runs
#: only tiny_train_set ones fall below (12060 8%, 12112 30%, 12164 35%).
CARRIED_OVER_SHARE = 0.5


def carried_over_share(guess: float, validation: float, train: float) -> float | None:
    """(guess - validation) / (guess - train); None when the training loss is not below the
    guess or a number is not finite (nothing learned to carry over)."""
    if not all(math.isfinite(v) for v in (guess, validation, train)) or not train < guess:
        return None
    return (guess - validation) / (guess - train)
