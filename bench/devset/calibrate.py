"""Measure lossdoctor.calibration's table on diagnosed dev cases, and score it on others.

    python bench/devset.py calibrate DIR [DIR...] [--fit even|odd|all] [--score even|odd|all]
        [--store tests/data/calibration/dev_reports.json]

Reads the full reports `run` keeps beside each case (`broken.full.json`, `twin.full.json`),
counts, per (cause, evidence kind), how often a finding reported as a cause of its own was right
on the cases of the ``--fit`` seeds, and prints that table (to paste into
``lossdoctor.calibration.MEASURED``). Then, on the cases of the ``--score`` seeds, it prints the
tables of their findings re-ranked by this tree's diagnosis with the table it ships (before) and
with the fitted one (after): a calibration re-scored without running lossdoctor again, the
reports of older sessions ranked as today's code ranks them.
The reports must hold ``own_confidence`` (the check's own confidence, before calibration).
Counted are the findings as this tree's diagnosis ranks them (:func:`reranked`: what is a
consequence of what, and each finding's evidence kind, as they now are), whichever session
wrote the report.

It also measures, on the ``--fit`` seeds, the two numbers the table is used with: the prior's
weight (``calibration.PRIOR_FINDINGS``, by empirical Bayes: :func:`prior_strength`) and the
confidence of a declared consequence (``measured_consequences.DECLARED_CONSEQUENCE_CONFIDENCE``,
:func:`consequence_rates`), and uses both for *after*; and it prints a reliability table (per
confidence bin: findings, right, mean confidence) with the Brier score and the expected
calibration error, before and after."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from unittest import mock

from lossdoctor import calibration, diagnosis
from lossdoctor.checks import check_modules
from lossdoctor.diagnosis import reported_and_dismissed
from lossdoctor.findings import Experiment, Finding
from lossdoctor.report.document import finding_dict

from .diagnose import Report
from .generate import read_manifest
from .score import Scored, findings, tables

SEEDS = {"even": lambda seed: seed % 2 == 0, "odd": lambda seed: seed % 2 == 1,
         "all": lambda seed: True}


def main(folders: list[Path], fit: str, score: str, prior: int | None = None) -> str:
    cases = [(entry, reranked(broken), reranked(twin))
             for folder in folders for entry, broken, twin in diagnosed(folder)]
    fitting = [c for c in cases if SEEDS[fit](c[0]["seed"])]
    fitted = measured(fitting)
    weight, likelihoods = prior_strength(cells(fitting))
    weight = weight if prior is None else prior
    held_out = cells([c for c in cases if SEEDS[score](c[0]["seed"])])
    declared, dismissed = consequence_rates(fitting)
    scored = [c for c in cases if SEEDS[score](c[0]["seed"])]
    before = [Scored(entry, rescored(broken), rescored(twin)) for entry, broken, twin in scored]
    with mock.patch.dict(calibration.MEASURED, fitted, clear=True), \
            mock.patch.object(calibration, "PRIOR_FINDINGS", weight), \
            mock.patch.object(diagnosis, "DECLARED_CONSEQUENCE_CONFIDENCE",
                              round(share_right(*declared), 2)):
        after = [Scored(entry, rescored(broken), rescored(twin)) for entry, broken, twin in scored]
    return "\n".join([f"# fitted on the {fit} seeds ({len(fitting)}"
                      f" cases), scored on the {score} seeds ({len(scored)} cases)", "",
                      "MEASURED = {", *(f"    {key!r}: {value!r}," for key, value
                                        in sorted(fitted.items())), "}", "",
                      f"PRIOR_FINDINGS = {weight}  # log marginal likelihood per weight: "
                      + ", ".join(f"{k}: {v:.2f}" for k, v in likelihoods.items()),
                      "held-out Brier score of the roots' calibrated confidence per weight: "
                      + ", ".join(f"{w}: {b:.4f}" for w, b in
                                  held_out_brier(fitted, held_out).items()),
                      f"declared consequences right {declared[0]} of {declared[1]}"
                      f" (DECLARED_CONSEQUENCE_CONFIDENCE = {share_right(*declared):.2f});"
                      f" dismissed (measured) consequences right {dismissed[0]} of {dismissed[1]}"
                      f" ({share_right(*dismissed):.2f})", "",
                      reliability(before, after), "",
                      kinds_table(before, "before"), "", kinds_table(after, "after"), "",
                      "# before", tables(before, "dev"), "# after", tables(after, "dev")])


#: What :func:`finding` and :func:`consequence_rates` read of a saved finding: what --store
#: keeps (the experiment without its curves).
STORED_KEYS = ("id", "confidence", "own_confidence", "verdict", "evidence", "experiment",
               "explained_by")


def store(folders: list[Path], path: Path) -> int:
    """Write the dev cases' reports ``main`` reads, trimmed to what it counts, to ``path``
    (one case a line: tests/data/calibration/dev_reports.json, the run the shipped table was
    measured on); returns the number of cases."""
    cases = sorted(({"entry": {k: entry[k] for k in ("seed", "operator", "cause", "expected")},
                     "broken": _trimmed(broken), "twin": _trimmed(twin)}
                    for folder in folders for entry, broken, twin in diagnosed(folder)),
                   key=lambda case: case["entry"]["seed"])
    lines = ",\n".join(json.dumps(case, separators=(",", ":")) for case in cases)
    path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
    return len(cases)


def _trimmed(report: dict) -> dict:
    def kept(saved: dict) -> dict:
        found = {key: saved.get(key) for key in STORED_KEYS}
        if found["experiment"]:
            found["experiment"] = {k: v for k, v in found["experiment"].items()
                                   if not k.startswith("curve")}
        return found
    return {"status": report["status"], "causes": [kept(f) for f in report["causes"]],
            "dismissed": [kept(f) for f in report["dismissed"]]}


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


#: The prior weights :func:`prior_strength` chooses among, in findings (a doubling grid: the
#: likelihood is flat on a linear scale).
PRIOR_WEIGHTS = (1, 2, 4, 8, 16, 32, 64)


def cells(cases: list[tuple[dict, dict, dict]]) -> dict[tuple[str, str], list[tuple[bool, float]]]:
    """(cause, kind) -> (right, the check's own confidence) of each finding reported as a cause
    of its own, on the broken scripts and their twins: what ``measured`` counts."""
    found: dict[tuple[str, str], list[tuple[bool, float]]] = defaultdict(list)
    for entry, broken, twin in cases:
        for report, expected in ((broken, set(entry["expected"])), (twin, set())):
            for saved in report["causes"]:
                if not saved["explained_by"]:
                    own = finding(saved)
                    found[(saved["id"], calibration.evidence_kind(own))].append(
                        (saved["id"] in expected, own.confidence))
    return found


def prior_strength(by_cell: dict[tuple[str, str], list[tuple[bool, float]]]
                   ) -> tuple[int, dict[int, float]]:
    """The prior's weight (calibration.PRIOR_FINDINGS) that makes the measured cells likeliest,
    by empirical Bayes (the beta-binomial marginal likelihood, as in Efron and Morris's
    shrinkage of batting averages): each cell's share right is taken to be drawn from a Beta
    prior centred on its findings' own confidence (mean m) and weighing w findings, Beta(w m,
    w (1 - m)); the w under which the counts measured are most probable says how far the
    checks' own confidences are from what their cells measure. A small w: the cells differ from
    their checks' own numbers, trust the counts; a large w: they agree, trust the checks."""
    likelihoods = {w: sum(_log_beta_binomial(sum(r for r, _ in found), len(found),
                                             sum(c for _, c in found) / len(found), w)
                          for found in by_cell.values())
                   for w in PRIOR_WEIGHTS}
    return max(likelihoods, key=likelihoods.get), likelihoods


def held_out_brier(fitted: dict[tuple[str, str], tuple[int, int]],
                   held_out: dict[tuple[str, str], list[tuple[bool, float]]]
                   ) -> dict[int, float]:
    """Per prior weight, the Brier score (0 is best) of the held-out root findings' confidence
    under the table ``fitted``: the check on prior_strength's choice, on cases it did not see."""
    found = [(key, right, own) for key, cell in held_out.items() for right, own in cell]
    scores = {}
    for weight in PRIOR_WEIGHTS:
        with mock.patch.dict(calibration.MEASURED, fitted, clear=True), \
                mock.patch.object(calibration, "PRIOR_FINDINGS", weight):
            scores[weight] = sum((calibration.rate(*key, own) - right) ** 2
                                 for key, right, own in found) / max(len(found), 1)
    return scores


#: A check's own confidence of 1.0 (or 0) as a Beta prior's mean is a prior that no count can
#: move (Beta(w, 0) is not a distribution): taken as this, the last step of the 0.01 grid the
#: checks' confidences are rounded to below 1.
MOST_CERTAIN = 0.99


def _log_beta_binomial(right: int, n: int, mean: float, weight: float) -> float:
    """log P(right of n | a share right drawn from Beta(weight mean, weight (1 - mean))), the
    binomial coefficient left out (it does not depend on the weight)."""
    mean = min(max(mean, 1 - MOST_CERTAIN), MOST_CERTAIN)
    a, b = weight * mean, weight * (1 - mean)
    return (math.lgamma(right + a) + math.lgamma(n - right + b) - math.lgamma(n + a + b)
            - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b))


def consequence_rates(cases: list[tuple[dict, dict, dict]]
                      ) -> tuple[tuple[int, int], tuple[int, int]]:
    """(right, findings) of the consequences shown under their root (reported, with
    ``explained_by``: a declared consequence) and of those dismissed as another's
    consequence that their check had reported (own confidence 0.5 or more)."""
    declared, dismissed = [0, 0], [0, 0]
    for entry, broken, twin in cases:
        for report, expected in ((broken, set(entry["expected"])), (twin, set())):
            for cell, key, reported in ((declared, "causes", True),
                                        (dismissed, "dismissed", False)):
                for saved in report.get(key, []):
                    if saved["explained_by"] and (reported or _own(saved) >= 0.5):
                        cell[0] += saved["id"] in expected
                        cell[1] += 1
    return (declared[0], declared[1]), (dismissed[0], dismissed[1])


def share_right(right: int, n: int) -> float:
    """The share right of one pooled kind of findings, estimated under Jeffreys' prior (half a
    finding right, half wrong: the binomial's reference prior): ``(right + 0.5) / (n + 1)``.
    A plain 0 of 16 would say such findings are never right, a certainty 16 cases do not give
    (session 16's dev draws: 0 of 16 declared consequences right on the odd seeds, 2 of 10 on
    the even ones)."""
    return (right + 0.5) / (n + 1)


def _own(saved: dict) -> float:
    own = saved.get("own_confidence")
    return saved["confidence"] if own is None else own


#: Lower edges of the reliability table's bins; below 0.5, declared consequences and roots
#: calibration lowered.
RELIABILITY_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)


def reliability(before: list[Scored], after: list[Scored]) -> str:
    """Per confidence bin, before and after: findings, right, and their mean confidence; then
    the Brier score (mean squared gap between confidence and right, 0 is best) over all."""
    columns = [_binned(before), _binned(after)]
    rows = []
    for edge in RELIABILITY_EDGES:
        cells_ = [by.get(edge, []) for by in columns]
        rows.append(f"| {edge:.1f}- | " + " | ".join(
            f"{len(c)} | {sum(r for _, r in c)} | "
            + (f"{sum(x for x, _ in c) / len(c):.2f}" if c else "-") for c in cells_) + " |")
    brier = [_brier(results) for results in (before, after)]
    error = [expected_calibration_error(by) for by in columns]
    return "\n".join(["reliability (held out): findings, right, mean confidence per bin",
                      "| bin | before n | right | mean | after n | right | mean |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |", *rows,
                      f"Brier score before {brier[0]:.3f}, after {brier[1]:.3f}; expected "
                      f"calibration error before {error[0]:.3f}, after {error[1]:.3f}"])


def expected_calibration_error(by_bin: dict[float, list[tuple[float, bool]]]) -> float:
    """The gap between a bin's mean confidence and its share right, averaged over the bins
    weighted by their findings (Naeini et al. 2015's ECE, 0 is calibrated): what the
    reliability table shows in one number, where the Brier score also counts how sharp the
    confidences are."""
    total = sum(len(found) for found in by_bin.values())
    if not total:
        return math.nan
    return sum(abs(sum(c for c, _ in found) - sum(r for _, r in found))
               for found in by_bin.values()) / total


def _binned(results: list[Scored]) -> dict[float, list[tuple[float, bool]]]:
    by: dict[float, list[tuple[float, bool]]] = defaultdict(list)
    for confidence, right, _ in findings(results):
        by[max(e for e in RELIABILITY_EDGES if confidence >= e)].append((confidence, right))
    return by


def _brier(results: list[Scored]) -> float:
    found = findings(results)
    return sum((c - r) ** 2 for c, r, _ in found) / len(found) if found else math.nan


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


def reranked(full: dict) -> dict:
    """``full`` with its findings (reported and dismissed) ranked again by this tree's diagnosis
    with the table it ships, in the report's own JSON form."""
    found = [finding(c) for c in full["causes"] + full["dismissed"]]
    reported, dismissed = reported_and_dismissed(found)
    return {**full, "causes": [finding_dict(f) for f in reported],
            "dismissed": [finding_dict(f) for f in dismissed]}


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

