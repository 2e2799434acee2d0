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
    also when the experiment raises. Grad mode is enabled inside and torch uses one thread
    (experiments train tiny models, where a second thread only spins); both are restored."""
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
            with single_threaded():
                yield
    finally:
        torch.set_grad_enabled(grad_enabled)
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextmanager
def single_threaded() -> Iterator[None]:
    """One torch thread while experiments train tiny models: on a busy machine, threads
    contending for the same cores made them 10 to 100 times slower. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
