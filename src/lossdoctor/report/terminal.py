"""The diagnosis at a glance, on the terminal (rich); plain text when not a terminal."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

NO_TRAINING_REASONS = (
    "the script computed no loss with a torch.nn loss or torch.nn.functional loss function, "
    "or took no torch.optim optimizer step",
    "the training ran in another process (a subprocess or a launcher), which lossdoctor "
    "cannot see into",
    "the script exited before training started (check its arguments)",
)


def render(document: dict, console: Console | None = None) -> None:
    console = console or Console(stderr=True, highlight=False)
    console.print(Panel(_body(document), title="lossdoctor", title_align="left"))


def _body(document: dict) -> Group:
    parts = [_headline(document), _run_line(document)]
    if document["status"] == "no_training":
        parts.extend(Text(f"  - {reason}") for reason in NO_TRAINING_REASONS)
    for rank, cause in enumerate(document["causes"], start=1):
        parts.append(_cause(rank, cause))
    parts.extend(_footer(document))
    return Group(*parts)


def _headline(document: dict) -> Text:
    partial = " (partial: the script stopped early)" if document["partial"] else ""
    if document["status"] == "no_training":
        return Text("No PyTorch training was seen." + partial + " Possible reasons:", "bold")
    if document["status"] == "healthy":
        return Text(
            "No problem found: the training looks healthy." + partial, "bold green"
        )
    count = len(document["causes"])
    primary = document["causes"][0]["title"]
    noun = "cause" if count == 1 else "causes"
    return Text(f"{count} {noun} found. Primary: {primary}.{partial}", "bold red")


def _run_line(document: dict) -> Text:
    setup, summary = document["setup"], document.get("summary", {})
    if not summary.get("steps"):
        return Text("")
    lr = setup["optimizer_hparams"].get("lr")
    text = Text(
        f"Watched {summary['steps']} training steps over {summary['epochs']} epochs: "
        f"{setup['model_class']} ({setup['parameter_count']:,} parameters), "
        f"{setup['loss_name']}, {setup['optimizer_class']} lr={_number(lr)}.",
        "dim",
    )
    if "validation_first" in summary:
        text.append(
            f"\nValidation loss {_number(summary['validation_first'])} -> "
            f"{_number(summary['validation_last'])} (best {_number(summary['validation_best'])}"
            f" at epoch {summary['validation_best_epoch']}).",
            "dim",
        )
    return text


def _cause(rank: int, cause: dict) -> Group:
    title = Text()
    title.append(f"\n{rank}. {cause['title']} ", "bold")
    title.append(f"[{cause['id']}, confidence {cause['confidence']:.2f}]", "dim")
    lines = [Text(cause["verdict"])]
    if cause.get("explained_by"):
        lines.insert(0, Text(f"likely a consequence of: {', '.join(cause['explained_by'])}",
                             "yellow"))
    if cause["evidence"]:
        numbers = ", ".join(f"{k}={_number(v)}" for k, v in cause["evidence"].items())
        lines.append(Text(f"evidence: {numbers}", "dim"))
    if cause.get("experiment"):
        lines.append(Text(_experiment(cause["experiment"]), "green"))
    lines.append(Text(f"fix: {cause['fix']}", "cyan"))
    return Group(title, *(Padding(line, (0, 0, 0, 3)) for line in lines))


def _experiment(experiment: dict) -> str:
    before, after = _number(experiment["before"]), _number(experiment["after"])
    return (
        f"experiment: {experiment['description']}: validation loss {before} -> {after} "
        f"in {experiment['steps']} steps"
    )


def _footer(document: dict) -> list[Text]:
    lines = []
    for check in document["checks"]:
        if check["status"] == "error":
            lines.append(Text(f"check {check['name']} failed inside lossdoctor: "
                              f"{check['reason']}", "yellow"))
    lines.extend(Text(escape(note), "yellow") for note in document["notes"])
    return lines


def _number(value) -> str:
    if value is None:
        return "inf/nan"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.3g}"
