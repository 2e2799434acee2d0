"""The documentation that lists causes, generated from the check modules' declarations.

    python -m lossdoctor.cause_docs          # rewrite README.md and docs/report-schema.md

Each document holds its generated part between two marker lines, so the prose around it stays
hand-written. A test fails when the committed text differs from what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lossdoctor.checks import catalogue

ROOT = Path(__file__).resolve().parents[2]
BEGIN = "<!-- generated from the checks' CAUSES: python -m lossdoctor.cause_docs -->"
END = "<!-- end of generated causes -->"


def readme_table() -> str:
    """One row per cause: its id, the question it answers and how it is tested."""
    rows = ["| cause id | question | test |", "| --- | --- | --- |"]
    rows += [f"| `{c.id}` | {c.question} | {c.test} |" for c in _ranked()]
    return "\n".join(rows)


def schema_list() -> str:
    """The ids a finding's `id` may take, with their titles and what each explains."""
    lines = ["| `id` | title | explains (ranked after it when both are found) |",
             "| --- | --- | --- |"]
    lines += [f"| `{c.id}` | {c.title} | {_explains(c)} |" for c in _ranked()]
    return "\n".join(lines)


#: Each generated document and the text that goes between its markers.
DOCUMENTS = {"README.md": readme_table, "docs/report-schema.md": schema_list}


def _ranked():
    """Causes with the highest precedence first, then by id: the order the ranking uses."""
    return sorted(catalogue().values(), key=lambda c: (-c.precedence, c.id))


def _explains(cause) -> str:
    """What a cause explains; those it explains only once its replayed fix worked, so said."""
    conditional = (f"; once its fix is replayed and works: {_ids(cause.explains_if_fixed)}"
                   if cause.explains_if_fixed else "")
    return _ids(cause.explains) + conditional


def _ids(ids) -> str:
    return ", ".join(f"`{i}`" for i in sorted(ids)) or "-"


def replaced(text: str, generated: str, name: str) -> str:
    """``text`` with what lies between its markers replaced by ``generated``."""
    try:
        head, rest = text.split(BEGIN + "\n", 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{name}: no '{BEGIN}' ... '{END}' lines to fill") from None
    return f"{head}{BEGIN}\n{generated}\n{END}{tail}"


def main() -> int:
    for name, generate in DOCUMENTS.items():
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        new = replaced(text, generate(), name)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
