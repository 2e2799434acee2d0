"""Experiments run here: fixed seeds inside, and every RNG and grad mode as it was afterwards."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def isolated(seed: int = 0) -> Iterator[None]:
    """Seed torch, numpy and random for a reproducible experiment; restore them in `finally`,
    also when the experiment raises. Grad mode is enabled inside and restored. Threads are the
    diagnosis' business (:func:`run_threads`): an experiment runs with the count it is given."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    grad_enabled = torch.is_grad_enabled()

    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            random.seed(seed)
            np.random.seed(seed)
            torch.set_grad_enabled(True)
            yield
    finally:
        torch.set_grad_enabled(grad_enabled)
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextmanager
def run_threads(count: int) -> Iterator[None]:
    """Experiments use the torch thread count the user's run had (``count``), so that a step of a
    copy costs what a step of the run cost (0: not recorded, the count now); the count from before
    is restored afterwards, also when an experiment raises or changes it."""
    before = torch.get_num_threads()
    torch.set_num_threads(count if count > 0 else before)
    try:
        yield
    finally:
        torch.set_num_threads(before)
