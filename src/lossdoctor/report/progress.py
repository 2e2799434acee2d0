"""While the checks run after the script: in a terminal, one transient line saying which test
runs, k of n, and the time so far; with ``--verbose`` and no terminal, a line per test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from lossdoctor.report.live import REFRESH_PER_SECOND


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


class DiagnosisProgress:
    """Called by ``diagnose`` before each check (lossdoctor.diagnosis.Progress)."""

    def __init__(self, console: Console, line: bool, verbose: bool = False) -> None:
        self.console, self.line, self.verbose = console, line, verbose
        self.started = time.monotonic()
        self.question, self.position, self.total = "", 0, 0

    @classmethod
    def for_terminal(cls, console: Console, quiet: bool, verbose: bool) -> DiagnosisProgress:
        """The line when lossdoctor's own stderr (``console``) is a terminal: the script may
        have closed or replaced ``sys.stderr`` by now."""
        return cls(console, line=_is_terminal(console.file) and not quiet, verbose=verbose)

    def __call__(self, module, position: int, total: int) -> None:
        self.question = module.causes[0].question if module.causes else module.name
        self.position, self.total = position, total
        if self.verbose and not self.line:
            self.console.print(Text(f"lossdoctor: test {position} of {total}: {self.question}"),
                               highlight=False)

    def text(self) -> str:
        elapsed = time.monotonic() - self.started
        return (f"lossdoctor  diagnosing  test {self.position} of {self.total}: "
                f"{self.question}  {elapsed:.0f} s")

    def __rich__(self) -> Text:
        return Text(self.text(), style="dim", no_wrap=True, overflow="ellipsis")

    @contextmanager
    def showing(self) -> Iterator[None]:
        if not self.line:
            yield
            return
        with Live(self, console=self.console, transient=True,
                  refresh_per_second=REFRESH_PER_SECOND):
            yield
