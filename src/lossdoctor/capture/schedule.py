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

    def next_sampled(self, step: int) -> int:
        """The first sampled step after ``step``."""
        step += 1
        while not self.is_sampled(step):
            step += 1
        return step

    def measures_updates(self, step: int) -> bool:
        """Whether a sampled ``step`` also measures the size of its update (a copy of every
        parameter before it, ~0.5 ms of the MLP bench's 7 ms step, bench/step_overhead.py):
        the dense start and powers of two, log-spaced as the run's other samples thin out."""
        return step < self.dense_until or (step & (step - 1)) == 0

    def interval(self, step: int) -> int:
        """Steps between samples around ``step``."""
        octave_start = 1 << (step.bit_length() - 1)
        return max(self.every, octave_start // self.per_octave)
