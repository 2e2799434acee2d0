"""While `lossdoctor run` goes: a one-line status on stderr (step, epoch, losses, the curve's
verdict) and, once, the moment a plateau is confirmed. The status line is drawn only when both
stdout and stderr are terminals; redirected or piped output is left exactly as the script wrote
it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.text import Text

from lossdoctor import own_output

#: Redraws per second of the status line; the training loop never waits for it.
REFRESH_PER_SECOND = 4


class LiveStatus:
    """Announces plateaus (unless ``quiet``) and draws the status line when ``line`` is set."""

    def __init__(self, line: bool, quiet: bool = False, console: Console | None = None) -> None:
        self.line = line and not quiet
        self.quiet = quiet
        self.console = console or own_output.console()

    @classmethod
    def for_terminal(cls, quiet: bool) -> LiveStatus:
        """The status line only when both stdout and stderr are terminals."""
        return cls(line=sys.stdout.isatty() and sys.stderr.isatty(), quiet=quiet)

    def announce(self, message: str) -> None:
        if not self.quiet:
            self.console.print(Text.assemble(("lossdoctor: ", "bold yellow"), message))

    @contextmanager
    def showing(self, monitor) -> Iterator[None]:
        if not self.line:
            yield
            return
        with Live(StatusLine(monitor), console=self.console, transient=True,
                  refresh_per_second=REFRESH_PER_SECOND, redirect_stdout=True,
                  redirect_stderr=True):
            yield


class StatusLine:
    """Reads the monitor's latest numbers when rich redraws; nothing is computed per step."""

    def __init__(self, monitor) -> None:
        self.monitor = monitor

    def __rich__(self) -> Text:
        return Text(status_text(self.monitor), style="dim", no_wrap=True, overflow="ellipsis")


def _kind_words(kind: str, settled: bool) -> str:
    """A plateau after real progress is convergence, said as such; "flat" is for one without."""
    if kind == "plateau":
        return "settled" if settled else "flat"
    return kind.replace("_", " ")


def status_text(monitor) -> str:
    """``lossdoctor  epoch 7  step 700  |  train 0.69  |  validation 0.70  |  plateau since
    epoch 3``: one line, short; the announcement says it in full."""
    parts = [f"lossdoctor  epoch {monitor.epoch}  step {monitor.step}"]
    if monitor.train_loss is not None:
        parts.append(f"train {monitor.train_loss:.4g}")
    if monitor.validation_loss is not None:
        parts.append(f"validation {monitor.validation_loss:.4g}")
    verdict = monitor.verdict
    if verdict is not None and verdict.curve == "validation":
        since = f" since {verdict.unit} {verdict.since:g}" if verdict.since is not None else ""
        parts.append(_kind_words(verdict.kind, monitor.settled) + since)
    return "  |  ".join(parts)
