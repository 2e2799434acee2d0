"""The report as Markdown, to paste into a forum question or a bug report: the setup, the verdict,
each cause with its experiment and fix, and the evidence folded away. Text from the run (layer
names, paths, verdicts) is escaped so that it shows as written and never as markup."""

from __future__ import annotations

import re
from pathlib import Path

from lossdoctor.report._common import (
    NO_TRAINING_REASONS,
    cause_heading,
    check_problems,
    consequence_text,
    experiment_line,
    fix_text,
    headline,
    lr_text,
    number,
    run_lines,
    unexplained_lines,
)

#: Markdown's own characters; "_" only where it could start or end emphasis (not inside a word).
_SPECIAL = re.compile(r"([\\`*\[\]|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^#)")


def write(document: dict, path: str) -> None:
    Path(path).write_text(render(document), encoding="utf-8")


def render(document: dict) -> str:
    lines = [f"### lossdoctor: {text(headline(document))}", ""]
    setup = [] if document.get("logs") else _setup(document)
    if not document.get("logs"):  # a report read from logs names them in its first line
        lines += [f"- Script: {text(document['script'])}", *setup]
    lines += [f"- {text(line)}" for line in run_lines(document, setup_shown=bool(setup))]
    if document["status"] == "no_training":
        lines += ["", *(f"- {text(reason)}" for reason in NO_TRAINING_REASONS)]
    if unexplained_lines(document):
        lines += ["", *(f"- {text(line)}" for line in unexplained_lines(document))]
    for rank, cause in enumerate(document["causes"], start=1):
        lines += ["", *_cause(rank, cause, document)]
    problems = check_problems(document)
    if problems:
        lines += ["", *(f"> {text(line)}" for line in problems)]
    version = document.get("lossdoctor_version", "")
    lines += ["", f"<sub>lossdoctor {text(version)}, report schema version "
                  f"{text(document.get('version', ''))}</sub>", ""]
    return "\n".join(lines)


def _setup(document: dict) -> list[str]:
    setup = document["setup"]
    if not setup.get("model_class"):
        return []
    others = [f"{k}={number(v)}" for k, v in setup["optimizer_hparams"].items()
              if k in ("momentum", "weight_decay", "betas")]
    optimizer = ", ".join(part for part in (lr_text(setup), *others) if part)
    return [
        f"- Model: {text(setup['model_class'])} ({setup['parameter_count']:,} parameters), "
        f"loss {text(setup['loss_name'])}, optimizer {text(setup['optimizer_class'])} "
        f"({text(optimizer)}), batch size {setup['batch_size']}"
    ]


def _cause(rank: int, cause: dict, document: dict) -> list[str]:
    lines = [f"#### {text(cause_heading(rank, cause))} "
             f"(`{cause['id']}`, confidence {cause['confidence']:.2f})", ""]
    if consequence_text(cause):
        lines += [f"*{text(consequence_text(cause))}*", ""]
    lines += [text(cause["verdict"]), ""]
    if cause.get("experiment"):
        lines += [f"- {text(experiment_line(document, cause))}"]
    lines += [f"- Fix: {text(fix_text(cause))}"]
    if cause["evidence"]:
        lines += ["", "<details><summary>Evidence</summary>", "", "| evidence | value |",
                  "| --- | --- |"]
        lines += [f"| `{k}` | {text(number(v))} |" for k, v in cause["evidence"].items()]
        lines += ["", "</details>"]
    return lines


def text(value) -> str:
    """Shown as written: HTML characters become entities, Markdown ones are backslashed."""
    escaped = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", escaped)
