"""Run `lossdoctor run --json` on a kept case's broken script and its twin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 900
#: lossdoctor from this working tree, one thread: the scripts are tiny and the machine shared.
ENV = {**os.environ, "OMP_NUM_THREADS": "1",
       "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"),
                                                   os.environ.get("PYTHONPATH", "")]))}


@dataclass
class Report:
    status: str  # healthy | causes_found | no_training | failed
    causes: list[dict] = field(default_factory=list)  # id, confidence, explained_by
    checks: list[dict] = field(default_factory=list)  # name, status, reason
    seconds: float = 0.0
    error: str = ""

    @property
    def ids(self) -> list[str]:
        return [cause["id"] for cause in self.causes]


def diagnose(script: Path, reuse: bool = False) -> Report:
    """The report for ``script``, saved beside it as `<name>.report.json`."""
    saved = script.with_suffix(".report.json")
    if not (reuse and saved.exists()):
        _run(script, saved)
    return _read(saved)


def _run(script: Path, saved: Path) -> None:
    raw = script.with_suffix(".lossdoctor.json")
    raw.unlink(missing_ok=True)
    command = [sys.executable, "-m", "lossdoctor", "run", "--quiet", "--json", raw.name,
               script.name]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=script.parent, capture_output=True, text=True,
                              env=ENV, timeout=TIMEOUT)
        error = _last_line(done.stderr) if not raw.exists() else ""
    except subprocess.TimeoutExpired:
        error = f"timed out after {TIMEOUT} s"
    seconds = time.perf_counter() - start
    if raw.exists():
        report = json.loads(raw.read_text(encoding="utf-8"))
        kept = {"status": report["status"], "seconds": seconds,
                "causes": [{key: cause[key] for key in ("id", "confidence", "explained_by")}
                           for cause in report["causes"]],
                "checks": [{key: check[key] for key in ("name", "status", "reason")}
                           for check in report["checks"]]}
        raw.replace(script.with_suffix(".full.json"))  # kept: a ranking change is re-scored
        # from the findings' measured experiments without running lossdoctor again
    else:
        kept = {"status": "failed", "seconds": seconds, "error": error}
    saved.write_text(json.dumps(kept, indent=1) + "\n", encoding="utf-8")


def _read(saved: Path) -> Report:
    data = json.loads(saved.read_text(encoding="utf-8"))
    return Report(data["status"], data.get("causes", []), data.get("checks", []),
                  data.get("seconds", 0.0), data.get("error", ""))


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no report written"
