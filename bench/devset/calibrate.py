"""Measure lossdoctor.calibration's table on diagnosed dev cases, and score it on others.

    python bench/devset.py calibrate DIR [DIR...] [--fit even|odd|all] [--score even|odd|all]

Reads the full reports `run` keeps beside each case (`broken.full.json`, `twin.full.json`),
counts, per (cause, evidence kind), how often a finding reported as a cause of its own was right
on the cases of the ``--fit`` seeds, and prints that table (to paste into
``lossdoctor.calibration.MEASURED``). Then, on the cases of the ``--score`` seeds, it prints the
tables of the reports as they are (before) and of their findings re-ranked by this tree's
diagnosis with the fitted table (after): a calibration re-scored without running lossdoctor again.
The reports must hold ``own_confidence`` (the check's own confidence, before calibration).
Counted are the findings as they were ranked then: calibration moves a finding's confidence,
not what is a consequence of what."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from unittest import mock

from lossdoctor import calibration
from lossdoctor.checks import check_modules
from lossdoctor.diagnosis import reported_and_dismissed
from lossdoctor.findings import Experiment, Finding

from .diagnose import Report
from .generate import read_manifest
from .score import Scored, tables

SEEDS = {"even": lambda seed: seed % 2 == 0, "odd": lambda seed: seed % 2 == 1,
         "all": lambda seed: True}


def main(folders: list[Path], fit: str, score: str) -> str:
    cases = [case for folder in folders for case in diagnosed(folder)]
    fitted = measured([c for c in cases if SEEDS[fit](c[0]["seed"])])
    scored = [c for c in cases if SEEDS[score](c[0]["seed"])]
    before = [Scored(entry, _report(broken), _report(twin)) for entry, broken, twin in scored]
    with mock.patch.dict(calibration.MEASURED, fitted, clear=True):
        after = [Scored(entry, rescored(broken), rescored(twin)) for entry, broken, twin in scored]
    return "\n".join([f"# fitted on the {fit} seeds ({sum(SEEDS[fit](c[0]['seed']) for c in cases)}"
                      f" cases), scored on the {score} seeds ({len(scored)} cases)", "",
                      "MEASURED = {", *(f"    {key!r}: {value!r}," for key, value
                                        in sorted(fitted.items())), "}", "",
                      kinds_table(before, "before"), "", kinds_table(after, "after"), "",
                      "# before", tables(before, "dev"), "# after", tables(after, "dev")])


def diagnosed(folder: Path) -> list[tuple[dict, dict, dict]]:
    """(manifest entry, broken full report, twin full report) of every kept dev case run."""
    found = []
    for entry in read_manifest(folder):
        case = folder / entry["folder"]
        paths = case / "broken.full.json", case / "twin.full.json"
        if entry["kept"] and entry["part"] == "dev" and all(p.exists() for p in paths):
            found.append((entry, *(json.loads(p.read_text()) for p in paths)))
    return found


def measured(cases: list[tuple[dict, dict, dict]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(cause, kind) -> (right, findings) over the findings reported as causes of their own."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for entry, broken, twin in cases:
        for report, expected in ((broken, set(entry["expected"])), (twin, set())):
            for found in report["causes"]:
                if not found["explained_by"]:
                    cell = counts[(found["id"], calibration.evidence_kind(finding(found)))]
                    cell[0] += found["id"] in expected
                    cell[1] += 1
    return {key: (right, n) for key, (right, n) in counts.items()}


def kinds_table(results: list[Scored], label: str) -> str:
    """Findings right per kind (root by evidence kind, or consequence) and confidence bin."""
    cells: dict[str, dict[float, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        for report, expected in ((r.broken, set(r.entry["expected"])), (r.twin, set())):
            for c in report.causes:
                kind = "consequence" if c["explained_by"] else c.get("kind", "?")
                edge = min(0.9, max(0.4, math.floor(c["confidence"] * 10) / 10))
                cells[kind][edge].append(c["id"] in expected)
    edges = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    rows = [f"| {kind} | " + " | ".join(
        f"{sum(by[e])}/{len(by[e])}" if by[e] else "" for e in edges) + " |"
        for kind, by in sorted(cells.items())]
    return "\n".join([f"{label}: right/findings per kind and confidence bin (0.4: below 0.5)",
                      "| kind | <0.5 | 0.5- | 0.6- | 0.7- | 0.8- | 0.9- |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |", *rows])


def _report(full: dict) -> Report:
    causes = [{"id": c["id"], "confidence": c["confidence"], "explained_by": c["explained_by"],
               "kind": calibration.evidence_kind(finding(c))} for c in full["causes"]]
    return Report(full["status"], causes, full["checks"])


def rescored(full: dict) -> Report:
    """``full``'s findings (reported and dismissed) ranked again by this tree's diagnosis."""
    found = [finding(c) for c in full["causes"] + full["dismissed"]]
    reported, _ = reported_and_dismissed(found)
    status = full["status"]
    if status == "causes_found" and not reported:
        status = "unexplained"
    causes = [{"id": f.cause.id, "confidence": f.confidence, "explained_by": f.explained_by,
               "kind": calibration.evidence_kind(f)} for f in reported]
    return Report(status, causes, full["checks"])


def finding(saved: dict) -> Finding:
    """A Finding again from its JSON, at the check's own confidence. Whether it is shown by the
    data itself (``root``: only nan_inf's, never a consequence) the JSON does not say: one not
    ranked as a consequence is taken as such."""
    causes = {cause.id: cause for module in check_modules() for cause in module.causes}
    own = saved.get("own_confidence")
    return Finding(causes[saved["id"]], saved["confidence"] if own is None else own,
                   saved["verdict"], saved.get("evidence") or {},
                   experiment=_experiment(saved.get("experiment")),
                   root=saved["id"] == "nan_inf" and not saved["explained_by"])


def _experiment(saved: dict | None) -> Experiment | None:
    """None (JSON's NaN or inf) is a replay that blew up: inf, as checks._fix writes it."""
    if not saved:
        return None
    before, after = (math.inf if saved[k] is None else saved[k] for k in ("before", "after"))
    return Experiment(saved["description"], before, after, saved["steps"],
                      measure=saved.get("measure", "validation loss"))

