"""Write and read the JSON report."""

from __future__ import annotations

import json
from pathlib import Path


def write(document: dict, path: str) -> None:
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def read(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
