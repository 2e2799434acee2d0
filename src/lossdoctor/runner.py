"""Run a script as `python SCRIPT ARGS` would, with a Recorder attached to PyTorch's hooks."""

from __future__ import annotations

import os
import random
import runpy
import sys
import traceback
from contextlib import nullcontext

import numpy as np
import torch

from lossdoctor.capture import Recorder, watching
from lossdoctor.capture.script_output import reading_printed_lines
from lossdoctor.monitor import Monitor, StopRun
from lossdoctor.script_run import ScriptRun


def run_script(script: str, args: list[str], seed: int | None = None,
               stop_on_plateau: bool = False, status=None) -> ScriptRun:
    """Run ``script`` with ``args`` as its ``sys.argv[1:]``, under ``__main__``, and return its
    exit code with what was recorded. The script's own traceback is printed as Python would.
    With ``seed``, torch, numpy and random are seeded first, for scripts that do not seed.
    With ``stop_on_plateau``, the run ends at the first optimizer step after its validation
    loss is confirmed flat. ``status`` (a report.live.LiveStatus) shows progress and plateaus."""
    monitor = Monitor(stop_on_plateau, status.announce if status is not None else None)
    recorder = Recorder(listener=monitor)
    if seed is not None:
        seed_everything(seed)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    exit_code, raised = 0, ""
    try:
        showing = status.showing(monitor) if status is not None else nullcontext()
        with watching(recorder), showing, reading_printed_lines(recorder):
            exit_code, raised = _execute(script, recorder)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    trace, copies = recorder.finish()
    curve = monitor.final_verdict(recorder)
    return ScriptRun(script, exit_code, raised, trace, copies, curve)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _execute(script: str, recorder: Recorder) -> tuple[int, str]:
    namespace: dict = {}  # the script's variables, alive until the trained model is copied
    try:
        namespace = runpy.run_path(os.path.abspath(script), run_name="__main__")
    except SystemExit as stop:
        return _exit_code(stop.code), ""
    except StopRun:
        return 0, ""  # lossdoctor ended the run on a plateau, as asked
    except KeyboardInterrupt as interrupt:
        _print_script_traceback(interrupt, script)
        return 130, "KeyboardInterrupt"
    except BaseException as error:  # noqa: BLE001 - the script's failure is reported, not ours
        _print_script_traceback(error, script)
        return 1, type(error).__name__
    finally:
        sys.stdout.flush()
        recorder.keep_trained_model()
        del namespace
    return 0, ""


def _exit_code(code) -> int:
    """What the interpreter would exit with for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_script_traceback(error: BaseException, script: str) -> None:
    """The traceback from the script's first frame on, as `python SCRIPT` prints it."""
    tb = error.__traceback__
    target = os.path.abspath(script)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != target:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb or error.__traceback__)
