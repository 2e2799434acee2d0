"""Command line: parse, call, render.

`lossdoctor run [--json PATH] [--html PATH] [--md PATH] SCRIPT [ARGS...]` (SCRIPT: a .py file
or a directory with ``__main__.py``), `lossdoctor run [...] -m MODULE [ARGS...]` and
`lossdoctor report RUN.json [--html PATH] [--md PATH]` and `lossdoctor logs PATH [...]`."""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import signal
import sys
import time

from rich.console import Console
from rich.text import Text

from lossdoctor import own_output
from lossdoctor._version import __version__
from lossdoctor.budget import MIN_BUDGET_SECONDS

EXIT_USAGE = 2
#: What each report option writes, in the order they are written.
REPORT_FILES = (("json", "JSON"), ("html", "HTML"), ("md", "Markdown"))


def main(argv: list[str] | None = None) -> int:
    own_output.take_stderr()
    parser = _parser()
    options = parser.parse_args(argv)
    if options.command == "run":
        exit_code = _run(options, parser)
        if argv is None:  # the command itself, not a caller in Python: the process ends now
            _leave_objects_to_the_exit()
        return exit_code
    if options.command == "report":
        return _rerender(options)
    if options.command == "logs":
        return _logs(options)
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lossdoctor",
        description="Find out why your validation loss is not changing.",
    )
    parser.add_argument("--version", action="version", version=f"lossdoctor {__version__}")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser(
        "run",
        help="run a training script unchanged and diagnose its training",
        description="Runs SCRIPT as `python SCRIPT ARGS` would (or `python -m MODULE ARGS`), "
        "watches its PyTorch training, and prints a diagnosis to stderr when it ends. The "
        "script's output and exit code are its own.",
    )
    run.add_argument("--json", metavar="PATH", help="also write the diagnosis as JSON to PATH")
    _add_render_options(run)
    run.add_argument("--seed", type=int, metavar="N",
                     help="seed torch, numpy and random before the script starts, to make a "
                     "script that does not seed itself reproducible")
    run.add_argument("--budget", type=_seconds, metavar="SECONDS",
                     help="time for the diagnosis after the run: experiments are shortened to "
                     "fit it, and checks not finished by then are stopped and listed (default: "
                     f"the larger of {MIN_BUDGET_SECONDS:g} s and a tenth of the training "
                     "time, which stops checks only where it shortened experiments; inf: no "
                     "limit); 0 runs no experiment on copies, only what reads the run's own "
                     "records")
    run.add_argument("--quiet", action="store_true",
                     help="no live status line and no plateau announcement while the script runs")
    run.add_argument("--stop-on-plateau", action="store_true",
                     help="end the run as soon as its validation loss is confirmed flat, and "
                     "diagnose at once")
    run.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE ARGS",
                     help="run a module as `python -m MODULE ARGS` would")
    run.add_argument("script", metavar="SCRIPT", nargs="?",
                     help="the training script (a .py file, or a directory with __main__.py)")
    run.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="arguments passed to the script")
    parser.set_defaults(run_command=run)
    report = commands.add_parser(
        "report",
        help="show a saved diagnosis again (terminal, HTML or Markdown)",
        description="Renders the diagnosis saved by `lossdoctor run --json RUN.json` on the "
        "terminal (stdout), and as HTML or Markdown files on request.",
    )
    report.add_argument("report_json", metavar="RUN.json", help="a JSON report from --json")
    _add_render_options(report)
    _add_logs_command(commands)
    return parser


def _add_logs_command(commands) -> None:
    from lossdoctor.logs import command

    logs = commands.add_parser("logs", help="diagnose a run that already ended, from its logs",
                               description=command.DESCRIPTION)
    command.add_arguments(logs)
    _add_render_options(logs)


def _add_render_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--html", metavar="PATH",
                         help="also write the report as one self-contained HTML file with "
                         "figures (works offline)")
    command.add_argument("--md", metavar="PATH",
                         help="also write the report as Markdown, to paste into a forum "
                         "question or a bug report")
    command.add_argument("--verbose", "-v", action="store_true",
                         help="show each cause's evidence numbers, dismissed findings and "
                         "skipped checks on the terminal")


def _run(options, parser: argparse.ArgumentParser) -> int:
    if options.module is None and options.script is None:
        options.run_command.error("give SCRIPT (a .py file, or a directory with __main__.py) "
                                  "or -m MODULE")
    target, args = _target(options)
    if target is None:
        return EXIT_USAGE
    from lossdoctor import (
        _filters,  # noqa: F401 - first: notes the warning filters torch leaves
        distributed,
    )

    if distributed.is_other_rank():
        from lossdoctor.runner import run_other_rank

        return run_other_rank(target, args, options.seed)
    _warn_of_slipped_options(options, args)
    unwritable = [problem for option, _ in REPORT_FILES
                  if (problem := _unwritable(getattr(options, option)))]
    if unwritable:
        _error(unwritable[0])
        return EXIT_USAGE
    from lossdoctor import stopping
    from lossdoctor.report.live import LiveStatus
    from lossdoctor.runner import run_script

    try:
        started = time.monotonic()
        run = run_script(target, args, options.seed, _stop_on_plateau(options),
                         LiveStatus.for_terminal(options.quiet))
        training_seconds = time.monotonic() - started
        with distributed.diagnosing() as here:
            if here:
                _report(run, options, training_seconds)
    except KeyboardInterrupt:  # Ctrl-C again in the instant between the script and its report
        stopping.die_by(signal.SIGINT)
    if run.exit_code < 0:  # the script died by a signal: so does lossdoctor, as python would
        stopping.die_by(-run.exit_code)
    return run.exit_code


def _leave_objects_to_the_exit() -> None:
    """The run leaves some 360,000 objects (torch's, the script's, the diagnosis'), which Python
    scans for reference cycles again and again while it shuts down: the prompt came back 2.6 to
    3.1 s after the report was written (examples/demo.py, load 9). So the exit's first steps
    are taken here, in Python's order: the atexit handlers (the script's, then the libraries')
    run, which lets go of the script's namespace they held; one collection finalizes what the
    script left (its objects' ``__del__``: a file it never closed is flushed); then what is
    left is frozen, and the exit frees it without scanning it again."""
    atexit._run_exitfuncs()  # runs and forgets them: none runs twice
    gc.collect()
    gc.freeze()


def _stop_on_plateau(options) -> bool:
    from lossdoctor import distributed

    if options.stop_on_plateau and distributed.world_size() > 1:
        _note("--stop-on-plateau is off under torchrun: the other ranks would wait for rank 0 "
              "at their next collective call. The run goes on to its end.")
        return False
    return options.stop_on_plateau


def _target(options):
    """What to run, and its arguments; (None, []) after a usage error."""
    from lossdoctor import torchrun_command
    from lossdoctor.main_module import Target, missing

    if options.module is not None:
        words = [options.script, *options.script_args] if options.script else []
        words = options.module + words
        if not words:
            _error("-m needs a module name, e.g. `lossdoctor run -m mypackage.train --epochs 10`.")
            return None, []
        return _unless_launcher(Target(words[0], "module"), words[1:], options)
    target = Target(options.script)
    if torchrun_command.is_launcher(target.name, target.kind):
        return _unless_launcher(target, options.script_args, options)
    if missing(target):
        _error(f"no such script: {options.script}. Give the path of your training script, "
               "e.g. `lossdoctor run train.py --epochs 10`.")
        return None, []
    return target, options.script_args


def _unless_launcher(target, args: list[str], options):
    """(target, args), unless the target is torchrun: (None, []) after saying what to run."""
    from lossdoctor import torchrun_command

    if not torchrun_command.is_launcher(target.name, target.kind):
        return target, args
    command = torchrun_command.command_inside_launcher(args, _own_options(options))
    _error(f"lossdoctor runs inside torchrun, once per rank, not around it: `{command}`.")
    return None, []


def _own_options(options) -> list[str]:
    """The options given to `lossdoctor run`, as words to repeat in another command."""
    words = []
    for name in ("json", "html", "md", "seed", "budget"):
        if getattr(options, name) is not None:
            words += [f"--{name}", str(getattr(options, name))]
    flags = ("quiet", "verbose", "stop_on_plateau")
    return words + [f"--{flag.replace('_', '-')}" for flag in flags if getattr(options, flag)]


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return seconds


def _warn_of_slipped_options(options, args: list[str]) -> None:
    """An option of lossdoctor's written after the script belongs to the script, as with python:
    say so once, before the run, in case it was meant for lossdoctor."""
    own = {name for action in options.run_command._actions for name in action.option_strings
           if name not in ("-h", "--help", "-m")}
    slipped = [arg.split("=", 1)[0] for arg in args if arg.split("=", 1)[0] in own]
    if not slipped:
        return
    script = options.script or (options.module or ["the module"])[0]
    named = list(dict.fromkeys(slipped))
    went = "it was" if len(named) == 1 else "they were"
    _note(f"{', '.join(named)} came after {script}, so {went} passed to the "
          f"script, not to lossdoctor. lossdoctor's options go before the script: "
          f"`lossdoctor run {slipped[0]} ... {script}`.")


def _unwritable(path: str | None) -> str:
    """Why a report could not be written to ``path``, checked before the script runs ("" when
    it can be, or when no path was given). Nothing is created."""
    if not path:
        return ""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"cannot write a report to {path}: it is a directory."
    if not os.path.isdir(folder):
        return f"cannot write a report to {path}: the folder {folder} does not exist."
    exists = os.path.exists(path)
    if not os.access(path if exists else folder, os.W_OK):
        where = path if exists else f"the folder {folder}"
        return f"cannot write a report to {path}: {where} is not writable."
    return ""


def _report(run, options, training_seconds: float) -> None:
    """Diagnose and render; a failure here is reported and never changes the exit code. Nothing
    run here reaches the script's stdout; Ctrl-C (or SIGTERM) stops the diagnosis, and what it
    found so far is reported."""
    from lossdoctor import stopping

    budget = stopping.TERMINATED_DIAGNOSIS_SECONDS if stopping.was_terminated() else None
    with stopping.stoppable_diagnosis(budget), own_output.silenced_stdout():
        if run.exit_code == -signal.SIGINT:
            _note("the script was interrupted: diagnosing what was seen until then "
                  "(Ctrl-C again to stop and keep a partial report).")
        report = _diagnosed(run, options, training_seconds)
        if report is None:
            return
        _render(report, options.verbose)
        _write_files(report, options)


def _diagnosed(run, options, training_seconds: float) -> dict | None:
    try:
        from lossdoctor.report import document
        from lossdoctor.report.progress import DiagnosisProgress
        from lossdoctor.verdict import diagnose_run

        progress = DiagnosisProgress.for_terminal(own_output.console(), options.quiet,
                                                  options.verbose)
        with progress.showing():
            diagnosis = diagnose_run(run, progress, options.budget, training_seconds)
        return document.build(run, diagnosis)
    except Exception as error:  # noqa: BLE001 - never change the script's exit code
        _error(f"internal error while diagnosing ({type(error).__name__}: {error}). "
               "Your script's results and exit code are unaffected. Please report this.")
        return None


def _render(report: dict, verbose: bool) -> None:
    from lossdoctor.report import terminal

    try:
        terminal.render(report, own_output.console(), verbose=verbose)
    except Exception as error:  # noqa: BLE001 - the report files are still written
        _error(f"internal error while showing the report ({type(error).__name__}: {error}). "
               "Please report this.")


def _write_files(report: dict, options) -> None:
    """Each report file on its own: one that fails does not stop the others. A writer is
    imported only when its file is asked for (the HTML one brings in matplotlib, a second of
    CPU at every run)."""
    for option, kind in REPORT_FILES:
        path = getattr(options, option, None)
        if not path:
            continue
        try:
            _writer(option)(report, path)
        except Exception as error:  # noqa: BLE001 - the other files are still written
            _error(f"could not write the {kind} report to {path}: {error}")


def _writer(option: str):
    """The function that writes the report file of ``option`` (json, html or md)."""
    if option == "json":
        from lossdoctor.report.json_file import write
    elif option == "html":
        from lossdoctor.report.html import write
    else:
        from lossdoctor.report.markdown import write
    return write


def _rerender(options) -> int:
    from lossdoctor.report import json_file

    try:
        report = json_file.read(options.report_json)
    except (OSError, ValueError) as error:
        _error(f"cannot read the report {options.report_json}: {error}. Give a file written by "
               "`lossdoctor run --json RUN.json train.py`.")
        return EXIT_USAGE
    from lossdoctor.report import terminal

    try:
        terminal.render(report, Console(highlight=False), verbose=options.verbose)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        _error(f"cannot read the report {options.report_json}: not a lossdoctor report, or from "
               f"another version ({type(error).__name__}: {error}).")
        return EXIT_USAGE
    _write_files(report, options)
    return 0


def _logs(options) -> int:
    from lossdoctor.logs.command import report_of
    from lossdoctor.logs.series import LogsError

    unwritable = [problem for option, _ in REPORT_FILES
                  if (problem := _unwritable(getattr(options, option)))]
    try:
        if unwritable:
            raise LogsError(unwritable[0])
        report = report_of(options)
    except LogsError as error:
        _error(str(error))
        return EXIT_USAGE
    from lossdoctor.report import terminal

    terminal.render(report, Console(highlight=False), verbose=options.verbose)
    _write_files(report, options)
    return 0


def _error(message: str) -> None:
    """One line on lossdoctor's stderr; the message is plain text (a path like '[/]x.py' is
    shown as it is, never read as markup)."""
    own_output.console().print(Text.assemble(("lossdoctor: ", "bold red"), message),
                               soft_wrap=True)


def _note(message: str) -> None:
    own_output.console().print(Text.assemble(("lossdoctor: ", "bold yellow"), message),
                               soft_wrap=True)
