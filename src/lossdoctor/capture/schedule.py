"""Which training steps get the costlier statistics (gradients, activations)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """Every step early on, then powers of two and every ``every`` steps; past that, at most
    ``per_octave`` steps between each power of two and the next, so that the statistics of a
    run of any length grow only with the logarithm of its steps."""

    dense_until: int = 10
    every: int = 50
    per_octave: int = 64

    def is_sampled(self, step: int) -> bool:
        if step < self.dense_until:
            return True
        return (step & (step - 1)) == 0 or step % self.interval(step) == 0

    def interval(self, step: int) -> int:
        """Steps between samples around ``step``."""
        octave_start = 1 << (step.bit_length() - 1)
        return max(self.every, octave_start // self.per_octave)
