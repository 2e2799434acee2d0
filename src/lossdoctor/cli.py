"""Command line: parse, call, render. `lossdoctor run [--json PATH] SCRIPT [ARGS...]`."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from lossdoctor import __version__

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.command == "run":
        return _run(options, parser)
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
        description="Runs SCRIPT as `python SCRIPT ARGS` would, watches its PyTorch training, "
        "and prints a diagnosis to stderr when it ends. The script's output and exit code "
        "are its own.",
    )
    run.add_argument("--json", metavar="PATH", help="also write the diagnosis as JSON to PATH")
    run.add_argument("--seed", type=int, metavar="N",
                     help="seed torch, numpy and random before the script starts, to make a "
                     "script that does not seed itself reproducible")
    run.add_argument("script", metavar="SCRIPT", help="the training script (a .py file)")
    run.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="arguments passed to the script")
    return parser


def _run(options, parser: argparse.ArgumentParser) -> int:
    if not os.path.isfile(options.script):
        _error(f"no such script: {options.script}. Give the path of your training script, "
               "e.g. `lossdoctor run train.py --epochs 10`.")
        return EXIT_USAGE
    from lossdoctor.runner import run_script

    run = run_script(options.script, options.script_args, options.seed)
    _report(run, options)
    return run.exit_code


def _report(run, options) -> None:
    """Diagnose and render; a failure here is reported and never changes the exit code."""
    try:
        from lossdoctor.report import document, json_file, terminal
        from lossdoctor.verdict import diagnose_run

        report = document.build(run, diagnose_run(run))
        terminal.render(report)
        if options.json:
            json_file.write(report, options.json)
    except Exception as error:  # noqa: BLE001 - never change the script's exit code
        _error(f"internal error while diagnosing ({type(error).__name__}: {error}). "
               "Your script's results and exit code are unaffected. Please report this.")


def _error(message: str) -> None:
    Console(stderr=True, highlight=False).print(f"[bold red]lossdoctor:[/] {message}")
