"""lossdoctor's own computations print nothing into the user's output.

The checks' experiments replay the user's training on copies: a loss that broadcasts makes
PyTorch warn on every replayed batch shape (shape_broadcast_regression printed eight such
warnings after the run, from a script that silences them itself), and a constant guess on
infinite targets makes numpy warn. The user's own run warns as ``python train.py`` does:
only what lossdoctor computes is silenced, and the warning filters are restored after it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def silenced() -> Iterator[None]:
    """No Python warning and no numpy floating-point warning inside; the caller's filters and
    numpy's error settings come back after. Not for use while the user's script runs: leaving
    catch_warnings resets the "shown once" memory of the user's own warnings."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield
