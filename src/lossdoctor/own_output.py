"""lossdoctor's own output: a handle on the original stderr, taken before the script runs, so
that whatever the script does to ``sys.stdout`` and ``sys.stderr`` (closing or replacing them)
cannot break the report; and the script's stdout kept silent while lossdoctor runs its code
again (replays of its model, whose ``forward`` may print)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from rich.console import Console

_stderr = None


def take_stderr() -> None:
    """Duplicate stderr's file descriptor now, before the script can touch it. Without one (a
    test's captured stream), the stream object itself is kept."""
    global _stderr
    if _stderr is not None and _stderr is not sys.stderr and not _stderr.closed:
        _stderr.close()  # a previous run's, in the same process
    try:
        descriptor = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        _stderr = sys.stderr
        return
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    _stderr = os.fdopen(descriptor, "w", buffering=1, encoding=encoding,
                        errors="backslashreplace")


def stderr():
    """Where lossdoctor writes: the handle taken at start, else the current sys.stderr."""
    return _stderr if _stderr is not None else sys.stderr


def console(**options) -> Console:
    return Console(file=stderr(), highlight=False, **options)


def flush(stream) -> None:
    """Flush a stream the script may have closed or replaced by something without ``flush``."""
    with suppress(AttributeError, OSError, ValueError):
        stream.flush()


@contextmanager
def silenced_stdout() -> Iterator[None]:
    """Inside the block nothing reaches the script's stdout: ``sys.stdout`` and file descriptor 1
    (which C code writes to) both go to os.devnull. Both are restored afterwards."""
    flush(sys.stdout)
    saved_stream, saved_descriptor = sys.stdout, _duplicate(1)
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        if saved_descriptor is not None:
            os.dup2(devnull.fileno(), 1)
        sys.stdout = devnull
        try:
            yield
        finally:
            flush(devnull)
            sys.stdout = saved_stream
            if saved_descriptor is not None:
                os.dup2(saved_descriptor, 1)
                os.close(saved_descriptor)


def drop_script_output() -> None:
    """From now on nothing more reaches stdout or stderr through their file descriptors: what
    the script still has buffered is lost, as when python is killed. lossdoctor's own handle
    (a duplicate) still writes."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for descriptor in (1, 2):
        with suppress(OSError):
            os.dup2(devnull, descriptor)
    os.close(devnull)


def _duplicate(descriptor: int) -> int | None:
    try:
        return os.dup(descriptor)
    except OSError:  # closed
        return None
