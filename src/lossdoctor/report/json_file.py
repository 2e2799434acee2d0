"""Write and read the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

#: What every renderer reads from a report, with its JSON type.
REQUIRED = {"status": str, "partial": bool, "causes": list, "checks": list, "notes": list,
            "setup": dict, "summary": dict, "curves": dict}


def write(document: dict, path: str) -> None:
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def read(path: str) -> dict:
    """The report saved at ``path``; ValueError when the file is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"not a JSON file ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(document, dict):
        raise ValueError("not a lossdoctor report (the JSON is not an object)")
    wrong = [key for key, kind in REQUIRED.items() if not isinstance(document.get(key), kind)]
    if wrong:
        raise ValueError(f"not a lossdoctor report ({', '.join(wrong)} missing or of the wrong "
                         "type)")
    return document
