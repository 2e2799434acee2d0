"""Run a Recorder's event handlers so that no error of lossdoctor's can reach the user's code."""

from __future__ import annotations

import functools

from lossdoctor.capture.tracing import tracing


def guarded(handler):
    """An error inside ``handler`` is recorded and switches the recorder off (``broken``).
    Events from code being compiled or transformed (tracing()) are ignored: they carry no
    values, and the compiler must see no trace of lossdoctor in the user's graph."""

    @functools.wraps(handler)
    def wrapper(self, *args, **kwargs):
        if tracing() or self.broken:
            return None
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the user's run must go on
            self.broken = True
            self.internal_errors.append(f"{handler.__name__}: {type(error).__name__}: {error}")
            return None

    return wrapper
