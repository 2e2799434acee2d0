"""The diagnosis at a glance, on the terminal (rich): the verdict and the ranked causes, each with
its fix and the experiment that backs it; the evidence numbers, dismissed findings and skipped
checks with ``verbose``. Plain text, without the box, when the output is not a terminal."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from lossdoctor import own_output
from lossdoctor.report._common import (
    NO_TRAINING_REASONS,
    cause_heading,
    cause_tag,
    chance_level,
    check_problems,
    consequence_text,
    evidence_text,
    experiment_line,
    fix_text,
    headline,
    measured_through_wrong_loss,
    run_lines,
    short_of_guess,
    unexplained_lines,
)

#: What starts a list item.
ITEM_MARK = "  - "
#: Width of the plain text view (a file, a pipe, a CI log).
PLAIN_WIDTH = 100
#: Where the evidence is, said after the causes when it is not shown (the command line's words;
#: the Python API passes its own).
CLI_HINT = "The evidence behind each cause: add --verbose, or write --html PATH for the figures."


def render(document: dict, console: Console | None = None, verbose: bool = False,
           hint: str = CLI_HINT) -> None:
    """Print the report: boxed and coloured on a terminal, plain text otherwise."""
    console = console or own_output.console()
    body = _body(document, verbose, hint)
    if console.is_terminal:
        console.print(Panel(body, title="lossdoctor", title_align="left"))
    else:
        console.file.write(_plain(body, console.width))
        console.file.flush()


def text(document: dict, verbose: bool = False, width: int = PLAIN_WIDTH,
         hint: str = CLI_HINT) -> str:
    """The plain text view, as written when the output is not a terminal."""
    return _plain(_body(document, verbose, hint), width)


def _plain(body: Group, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(body)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _body(document: dict, verbose: bool, hint: str = CLI_HINT) -> Group:
    parts = [_headline(document), *(Text(line, "dim") for line in run_lines(document))]
    if document["status"] == "no_training":
        parts.extend(_item(reason) for reason in NO_TRAINING_REASONS)
    parts.extend(_item(line) for line in unexplained_lines(document))
    for rank, cause in enumerate(document["causes"], start=1):
        parts.append(_cause(rank, cause, verbose, document))
    if verbose:
        parts.extend(_dismissed(document) + _checks(document))
    parts.extend(Text(line, "yellow") for line in check_problems(document))
    if document["causes"] and not verbose:
        parts.append(Text(f"\n{hint}", "dim"))
    return Group(*parts)


def _item(line: str) -> Table:
    """A list item whose wrapped lines hang under its text (healthy_gru_trend: "could not test
    ..." went on at the margin, where it read as a line of its own)."""
    grid = Table.grid()
    grid.add_column(width=len(ITEM_MARK), no_wrap=True)
    grid.add_column()
    grid.add_row(ITEM_MARK, Text(line))
    return grid


def _headline(document: dict) -> Text:
    style = {"no_training": "bold", "healthy": "bold green", "unexplained": "bold yellow",
             "incomplete": "bold yellow"}.get(
        document["status"], "bold red")
    return Text(headline(document), style)


def _cause(rank: int, cause: dict, verbose: bool, document: dict) -> Group:
    title = Text()
    title.append(f"\n{cause_heading(rank, cause)} ", "bold")
    title.append(cause_tag(cause), "dim")
    lines = [Text(cause["verdict"])]
    if consequence_text(cause):
        lines.insert(0, Text(consequence_text(cause), "yellow"))
    if verbose and cause["evidence"]:
        lines.append(Text(f"evidence: {evidence_text(cause['evidence'])}", "dim"))
    if cause.get("experiment"):
        experiment, chance = cause["experiment"], chance_level(document)
        doubtful = measured_through_wrong_loss(cause) or short_of_guess(experiment, chance)
        said = experiment_line(document, cause)
        lines.append(Text(said, "yellow" if doubtful else "green"))
    lines.append(Text(f"fix: {fix_text(cause)}", "cyan"))
    return Group(title, *(Padding(line, (0, 0, 0, 3)) for line in lines))


def _dismissed(document: dict) -> list[Text]:
    dismissed = document.get("dismissed", [])
    if not dismissed:
        return []
    lines = [Text("\nLooked into and dismissed (confidence below 0.5):", "bold")]
    for finding in dismissed:
        lines.append(Text(f"  - {finding['id']} ({finding['confidence']:.2f}): "
                          f"{finding['verdict']}", "dim"))
    return lines


def _checks(document: dict) -> list[Text]:
    skipped = [c for c in document["checks"] if c["status"] == "skipped"]
    ran = sum(c["status"] == "ran" for c in document["checks"])
    if not document["checks"]:
        return []
    lines = [Text(f"\nChecks: {ran} ran, {len(skipped)} skipped.", "bold")]
    lines.extend(Text(f"  - {c['name']} skipped: {c['reason']}", "dim") for c in skipped)
    return lines
