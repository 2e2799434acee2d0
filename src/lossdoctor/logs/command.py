"""`lossdoctor logs PATH`: its options, and from PATH to the report document."""

from __future__ import annotations

import argparse
import math

from lossdoctor.logs.series import LogsError

DESCRIPTION = (
    "Reads the logs of a run that already ended (a TensorBoard log folder, a CSV of metrics "
    "such as Lightning's metrics.csv or Keras' CSVLogger, or Hugging Face's trainer_state.json) "
    "and says what its curves show: flat, at chance, swinging, diverging, overfitting, a "
    "collapsed learning-rate schedule; which causes the curves cannot tell apart; and the "
    "`lossdoctor run` command that would."
)


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("path", metavar="PATH",
                         help="a TensorBoard log folder, a metrics CSV, or trainer_state.json")
    for option, role in (("--train", "training loss"), ("--val", "validation loss"),
                         ("--lr", "learning rate")):
        command.add_argument(option, metavar="NAME",
                             help=f"the series (tag or column) that holds the {role}, when "
                             "lossdoctor cannot tell from the names")
    chance = command.add_mutually_exclusive_group()
    chance.add_argument("--classes", type=_classes, metavar="N",
                        help="the task has N classes and a cross-entropy loss: a constant guess "
                        "scores ln N")
    chance.add_argument("--chance", type=float, metavar="LOSS",
                        help="the loss of a constant guess on your task (the level any model "
                        "that learned must beat)")
    command.add_argument("--script", metavar="COMMAND",
                         help="your training script and its arguments, to print the exact "
                         "`lossdoctor run` command (default: train.py)")
    command.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")


def report_of(options) -> dict:
    """The report document of the logs at ``options.path``; LogsError when they cannot be read
    or hold no loss. Imported here: the parser of every command reads this module."""
    from lossdoctor.logs import document
    from lossdoctor.logs.as_trace import trace_of, unit_of
    from lossdoctor.logs.detect import read_logs
    from lossdoctor.logs.diagnose import diagnose_trace
    from lossdoctor.logs.names import choose

    try:
        data = read_logs(options.path)
    except OSError as error:  # a file that cannot be opened: no permission, a broken link
        raise LogsError(f"cannot read {error.filename or options.path}: "
                        f"{error.strerror or error}.") from None
    chosen = choose(data, {"train": options.train, "validation": options.val, "lr": options.lr})
    trace = trace_of(chosen)
    if not trace.losses:
        raise LogsError(f"the loss series in {options.path} have no points with a step or "
                        "epoch: nothing to judge.")
    chance = _chance(options)
    result = diagnose_trace(trace, chance[0] if chance else None, chosen.lr is not None,
                            options.script)
    return document.build(data, chosen, trace, result, unit_of(chosen), chance)


def _chance(options) -> tuple[float, str] | None:
    if options.classes is not None:
        return math.log(options.classes), f"--classes {options.classes}"
    if options.chance is not None:
        return options.chance, f"--chance {options.chance:g}"
    return None


def _classes(text: str) -> int:
    try:
        classes = int(text)
    except ValueError:
        classes = 0
    if classes < 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of classes (2 or more)")
    return classes
