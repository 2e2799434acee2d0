"""Run a script as `python SCRIPT ARGS` would, with a Recorder attached to PyTorch's hooks."""

from __future__ import annotations

import random
import signal
import sys
import threading
from contextlib import nullcontext

import numpy as np
import torch

from lossdoctor import _filters, distributed, own_output, stopping
from lossdoctor.capture import Recorder, watching
from lossdoctor.capture.script_output import reading_printed_lines
from lossdoctor.crash_reading import read_crash
from lossdoctor.main_module import Target, execute, script_world
from lossdoctor.monitor import Monitor, StopRun
from lossdoctor.script_run import ScriptRun
from lossdoctor.script_traceback import without_lossdoctor

#: The exit status python's parent sees when python dies by a signal (subprocess's convention).
KILLED_BY_SIGINT, KILLED_BY_SIGTERM = -signal.SIGINT, -signal.SIGTERM


def run_script(script: str | Target, args: list[str], seed: int | None = None,
               stop_on_plateau: bool = False, status=None) -> ScriptRun:
    """Run ``script`` (a path, or a Target: a directory or ``-m module``) with ``args`` as its
    ``sys.argv[1:]``, under a fresh ``__main__``, and return its exit code with what was
    recorded. The script's own traceback goes through its ``sys.excepthook``, as under python.
    With ``seed``, torch, numpy and random are seeded first, for scripts that do not seed.
    With ``stop_on_plateau``, the run ends at the first optimizer step after its validation
    loss is confirmed flat. ``status`` (a report.live.LiveStatus) shows progress and plateaus.
    A script ended by a signal has the negative signal number as its exit code."""
    target = script if isinstance(script, Target) else Target(script)
    monitor = Monitor(stop_on_plateau, status.announce if status is not None else None)
    recorder = Recorder(listener=monitor)
    if seed is not None:
        seed_everything(seed)
    initial_seed = torch.initial_seed()  # random at start-up, unless someone seeds torch
    showing = status.showing(monitor) if status is not None else nullcontext()
    threads_before = set(threading.enumerate())
    with script_world(target, args, _filters.AFTER_TORCH) as namespace:
        with stopping.terminable(), watching(recorder), showing, reading_printed_lines(recorder):
            exit_code, raised, crash = _execute(target, namespace, recorder)
        del namespace
    if exit_code != KILLED_BY_SIGTERM:
        _wait_for_script_threads(threads_before)
    trace, copies = recorder.finish()
    trace.notes.extend(distributed.rank_notes())
    curve = monitor.final_verdict(recorder)
    seeded = seed is not None or recorder.seeded or torch.initial_seed() != initial_seed
    return ScriptRun(target.label, exit_code, raised, trace, copies, curve, seeded, crash)


def run_unwatched(script: Target, args: list[str], seed: int | None = None) -> int:
    """Run ``script`` as python would, with nothing attached to it, and return its exit code:
    a rank other than 0 under torchrun, whose training rank 0 watches for it."""
    if seed is not None:
        seed_everything(seed)
    threads_before = set(threading.enumerate())
    with script_world(script, args, _filters.AFTER_TORCH) as namespace:
        with stopping.terminable():
            exit_code, _, _ = _execute(script, namespace)
        del namespace
    if exit_code != KILLED_BY_SIGTERM:
        _wait_for_script_threads(threads_before)
    return exit_code


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _execute(target: Target, namespace: dict,
             recorder: Recorder | None = None) -> tuple[int, str, dict | None]:
    """The script's exit code, the name of the exception it raised ("" if none) and what the
    crash says (lossdoctor.crash_reading; None if it did not crash)."""
    try:
        execute(target, namespace)
    except SystemExit as stop:
        return _exit_code(stop.code), "", None
    except StopRun:
        return 0, "", None  # lossdoctor ended the run on a plateau, as asked
    except stopping.ScriptTerminated:
        return KILLED_BY_SIGTERM, "SIGTERM", None
    except BaseException as error:  # noqa: BLE001 - the script's failure is reported, not ours
        crash = _read_crash(error)
        _report_uncaught(error)
        interrupted = isinstance(error, KeyboardInterrupt)
        return (KILLED_BY_SIGINT if interrupted else 1), type(error).__name__, crash
    finally:
        own_output.flush(sys.stdout)
        if recorder is not None:
            recorder.keep_trained_model()  # while the script's variables still hold it
    return 0, "", None


def _read_crash(error: BaseException) -> dict | None:
    try:
        return read_crash(error)
    except Exception:  # noqa: BLE001 - a reading that fails leaves the exception's name
        return None


def _exit_code(code) -> int:
    """What the interpreter would exit with for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _report_uncaught(error: BaseException) -> None:
    """What python does with an uncaught exception: its ``sys.excepthook`` (the script's own, if
    it set one) with the traceback from the script's first frame on, free of lossdoctor's."""
    for link in _chain(error):
        link.__traceback__ = without_lossdoctor(link.__traceback__)
    own_output.flush(sys.stdout)
    try:
        sys.excepthook(type(error), error, error.__traceback__)
    except BaseException as hook_error:  # noqa: BLE001 - python prints both, and goes on
        sys.__excepthook__(type(hook_error), hook_error, hook_error.__traceback__)
        sys.__excepthook__(type(error), error, error.__traceback__)
    own_output.flush(sys.stderr)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and all(error is not s for s in seen):
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def _wait_for_script_threads(before: set[threading.Thread]) -> None:
    """Python waits for the script's non-daemon threads before it exits; so does the run, so
    that they write to stdout before lossdoctor runs anything. Only threads the script started:
    not those alive before it (in-process callers'), nor idle concurrent.futures workers, which
    python's exit stops through its own hook rather than waits for."""
    from concurrent.futures import thread as pool

    workers = set(getattr(pool, "_threads_queues", {}))
    for thread in threading.enumerate():
        if thread in before or thread in workers or thread.daemon:
            continue
        if thread is not threading.current_thread():
            thread.join()


def run_other_rank(target, args: list[str], seed: int | None) -> int:
    """A rank other than 0: the script as python runs it (same output, same exit status), with
    nothing of lossdoctor's attached or printed. A script that failed holds its exit while
    rank 0 diagnoses (rank_signals.py)."""
    from lossdoctor import rank_signals

    exit_code = run_unwatched(target, args, seed)
    if exit_code != 0:
        rank_signals.wait_for_rank_zero_diagnosis()
    if exit_code < 0:  # died by a signal: so does this process, as python would
        stopping.die_by(-exit_code)
    return exit_code
