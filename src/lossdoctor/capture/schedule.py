"""Which training steps get the costlier statistics (gradients, activations)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """Every step early on, then powers of two, then every ``every`` steps."""

    dense_until: int = 10
    every: int = 50

    def is_sampled(self, step: int) -> bool:
        if step < self.dense_until:
            return True
        return step % self.every == 0 or (step & (step - 1)) == 0
