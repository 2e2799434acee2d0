"""What a log holds, whatever its format: named series of numbers, each point at a step, an
epoch, or both."""

from __future__ import annotations

from dataclasses import dataclass, field


class LogsError(Exception):
    """The logs cannot be read or judged; the message says what to do, in one line."""


@dataclass(frozen=True)
class Point:
    step: float | None
    epoch: float | None
    value: float


@dataclass
class Series:
    name: str
    points: list[Point] = field(default_factory=list)

    def add(self, step: float | None, epoch: float | None, value: float) -> None:
        self.points.append(Point(step, epoch, value))


@dataclass
class LogData:
    """Every numeric series of one log, by name; ``format`` is "tensorboard", "csv" or
    "trainer_state"."""

    path: str
    format: str
    series: dict[str, Series] = field(default_factory=dict)

    def series_named(self, name: str) -> Series:
        return self.series.setdefault(name, Series(name))

    def non_empty(self) -> dict[str, Series]:
        return {name: s for name, s in self.series.items() if s.points}
