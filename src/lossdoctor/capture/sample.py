"""A bounded, representative sample of the batches a run saw."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Batch:
    """Detached CPU copies of one batch: the model's positional and keyword inputs, the target."""

    args: tuple
    kwargs: dict
    target: Any
    rows: int


@dataclass
class BatchSample:
    """Reservoir sampling over batches, bounded by rows.

    Keeps every batch until ``max_rows`` rows are held, then replaces held batches at random so
    every batch seen has the same chance to be held. Uses its own RNG: the run's are untouched.
    """

    max_rows: int = 4096
    batches: list[Batch] = field(default_factory=list)
    rows_seen: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)

    def wants(self, rows: int) -> bool:
        """Whether the next batch, of ``rows`` rows, should be copied."""
        self.rows_seen += rows
        if self.rows + rows <= self.max_rows:
            return True
        return self._rng.random() < self.max_rows / max(self.rows_seen, 1)

    def add(self, batch: Batch) -> None:
        if self.batches and self.rows + batch.rows > self.max_rows:
            self.batches[self._rng.randrange(len(self.batches))] = batch
        else:
            self.batches.append(batch)
