"""Signals while lossdoctor runs a script and then diagnoses it.

While the script runs, SIGINT is the script's own (a KeyboardInterrupt, as under python).
SIGTERM kills python at once; here it ends the script at once too, and nothing more of the
script reaches stdout or stderr (what it had buffered is lost, as under python). What was
recorded until then is diagnosed within TERMINATED_DIAGNOSIS_SECONDS, and lossdoctor then dies
by the same signal, so the parent sees what it would have seen.

While lossdoctor diagnoses, Ctrl-C (SIGINT) or SIGTERM stops the check under way; the checks
not run are reported as stopped, and the report is still written. A third Ctrl-C kills at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lossdoctor import own_output

#: ``docker stop`` waits 10 s after SIGTERM before SIGKILL, the shortest common grace period
#: (Kubernetes gives 30 s, systemd 90 s); half of it leaves time to write the reports.
TERMINATED_DIAGNOSIS_SECONDS = 5.0


class ScriptTerminated(BaseException):
    """Raised in the script's main thread by SIGTERM."""


class StopDiagnosis(KeyboardInterrupt):
    """Raised inside a check when the diagnosis is asked to stop."""


class _State:
    requested = False  # a stop of the diagnosis was asked for
    raising = False  # a check is running: stop it by raising StopDiagnosis
    terminated = False  # SIGTERM arrived while the script ran
    interrupts = 0


_state = _State()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def terminable() -> Iterator[None]:
    """While the script runs: SIGTERM ends it (unless the script sets its own handler)."""
    if not _in_main_thread():
        yield
        return
    _state.terminated = False
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is _terminate:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame) -> None:
    if _state.terminated:  # the script caught the first one and went on
        die_by(signal.SIGTERM)
    _state.terminated = True
    own_output.drop_script_output()
    raise ScriptTerminated


@contextmanager
def stoppable_diagnosis(budget: float | None = None) -> Iterator[None]:
    """While lossdoctor diagnoses: Ctrl-C and SIGTERM stop it; with ``budget`` (seconds), so
    does the clock."""
    _state.requested, _state.raising, _state.interrupts = False, False, 0
    if not _in_main_thread():
        yield
        return
    previous = {number: signal.signal(number, _stop)
                for number in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    if budget is not None:
        signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop(signum, frame) -> None:
    _state.interrupts += signum == signal.SIGINT
    if _state.interrupts >= 2:  # Ctrl-C again while the partial report is being written
        die_by(signal.SIGINT)
    _state.requested = True
    if _state.raising:
        raise StopDiagnosis


def requested() -> bool:
    """Whether the diagnosis was asked to stop."""
    return _state.requested


@contextmanager
def interruptible() -> Iterator[None]:
    """Around one check: a stop asked for inside it raises StopDiagnosis there."""
    _state.raising = True
    try:
        if _state.requested:
            raise StopDiagnosis
        yield
    finally:
        _state.raising = False


def was_terminated() -> bool:
    return _state.terminated


def die_by(number: int) -> None:
    """End lossdoctor by signal ``number``, as python ends when it dies by it."""
    own_output.flush(own_output.stderr())
    if number == signal.SIGINT:
        _exit_as_interrupted()
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    os._exit(128 + number)  # only if the signal is blocked


def _exit_as_interrupted():
    """Python, after an uncaught KeyboardInterrupt, runs the atexit handlers and then kills itself
    by SIGINT. Raising one out of lossdoctor, with the traceback already printed, does the same."""
    sys.excepthook = _silent
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise KeyboardInterrupt


def _silent(*exc_info) -> None:
    pass
