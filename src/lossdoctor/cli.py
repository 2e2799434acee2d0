"""Command line: parse, call, render.

`lossdoctor run [--json PATH] [--html PATH] [--md PATH] SCRIPT [ARGS...]` and
`lossdoctor report RUN.json [--html PATH] [--md PATH]`."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

from lossdoctor._version import __version__

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    options = parser.parse_args(argv)
    if options.command == "run":
        return _run(options, parser)
    if options.command == "report":
        return _rerender(options)
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
    _add_render_options(run)
    run.add_argument("--seed", type=int, metavar="N",
                     help="seed torch, numpy and random before the script starts, to make a "
                     "script that does not seed itself reproducible")
    run.add_argument("--quiet", action="store_true",
                     help="no live status line and no plateau announcement while the script runs")
    run.add_argument("--stop-on-plateau", action="store_true",
                     help="end the run as soon as its validation loss is confirmed flat, and "
                     "diagnose at once")
    run.add_argument("script", metavar="SCRIPT", help="the training script (a .py file)")
    run.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="arguments passed to the script")
    report = commands.add_parser(
        "report",
        help="show a saved diagnosis again (terminal, HTML or Markdown)",
        description="Renders the diagnosis saved by `lossdoctor run --json RUN.json` on the "
        "terminal (stdout), and as HTML or Markdown files on request.",
    )
    report.add_argument("report_json", metavar="RUN.json", help="a JSON report from --json")
    _add_render_options(report)
    return parser


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
    if not os.path.isfile(options.script):
        _error(f"no such script: {options.script}. Give the path of your training script, "
               "e.g. `lossdoctor run train.py --epochs 10`.")
        return EXIT_USAGE
    from lossdoctor.report.live import LiveStatus
    from lossdoctor.runner import run_script

    run = run_script(options.script, options.script_args, options.seed,
                     options.stop_on_plateau, LiveStatus.for_terminal(options.quiet))
    _report(run, options)
    return run.exit_code


def _report(run, options) -> None:
    """Diagnose and render; a failure here is reported and never changes the exit code."""
    try:
        from lossdoctor.report import document, json_file, terminal
        from lossdoctor.verdict import diagnose_run

        report = document.build(run, diagnose_run(run))
        terminal.render(report, verbose=options.verbose)
        if options.json:
            json_file.write(report, options.json)
        _write_files(report, options)
    except Exception as error:  # noqa: BLE001 - never change the script's exit code
        _error(f"internal error while diagnosing ({type(error).__name__}: {error}). "
               "Your script's results and exit code are unaffected. Please report this.")


def _write_files(report: dict, options) -> None:
    from lossdoctor.report import html, markdown

    if options.html:
        html.write(report, options.html)
    if options.md:
        markdown.write(report, options.md)


def _rerender(options) -> int:
    from lossdoctor.report import json_file, terminal

    try:
        report = json_file.read(options.report_json)
    except (OSError, ValueError) as error:
        _error(f"cannot read the report {options.report_json}: {error}. Give a file written by "
               "`lossdoctor run --json RUN.json train.py`.")
        return EXIT_USAGE
    terminal.render(report, Console(highlight=False), verbose=options.verbose)
    _write_files(report, options)
    return 0


def _error(message: str) -> None:
    Console(stderr=True, highlight=False).print(f"[bold red]lossdoctor:[/] {message}")
