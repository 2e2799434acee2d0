"""Score lossdoctor's reports on the kept cases and print Markdown tables.

- top-1: the case's cause is the first cause reported;
- top-3: the case's cause is among the first three reported;
- called healthy: nothing reported on the broken script;
- no training: lossdoctor saw no PyTorch training (broken script or twin);
- false alarm: anything reported on the fixed twin.

A finding (any reported cause, at any rank) is *right* when its id is in the case's expected
set (the operator's cause and the causes it names as also acceptable); every finding on a twin
is wrong. The calibration table bins findings by their reported confidence."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from .diagnose import Report

#: Lower edges of the confidence bins (findings are reported from 0.5 up).
BIN_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class Scored:
    entry: dict
    broken: Report
    twin: Report

    @property
    def cause(self) -> str:
        return self.entry["cause"]

    @property
    def top1(self) -> bool:
        return self.broken.ids[:1] == [self.cause]

    @property
    def top3(self) -> bool:
        return self.cause in self.broken.ids[:3]

    @property
    def called_healthy(self) -> bool:
        return self.broken.status == "healthy"

    @property
    def false_alarm(self) -> bool:
        return self.twin.status == "causes_found"


def tables(results: list[Scored], part: str) -> str:
    sections = [f"## lossdoctor on the generated {part} part", "", overall(results), "",
                "### Per expected cause", "", per_cause(results), "",
                "### Per operator", "", per_operator(results), "",
                "### Calibration", "", calibration(results), "",
                "### Calibration per reported cause", "", calibration_per_cause(results), "",
                "### Causes reported on fixed twins (false alarms)", "", twin_alarms(results), "",
                "### Checks that errored", "", errored_checks(results)]
    return "\n".join(sections) + "\n"


def overall(results: list[Scored]) -> str:
    n = len(results)
    rows = [("broken cases (each with its fixed twin)", str(n)),
            ("top-1: the cause reported first", _share(sum(r.top1 for r in results), n)),
            ("top-3: the cause among the first three", _share(sum(r.top3 for r in results), n)),
            ("broken runs called healthy", _share(sum(r.called_healthy for r in results), n)),
            ("broken runs with no training seen",
             _share(sum(r.broken.status == "no_training" for r in results), n)),
            ("false alarms on fixed twins", _share(sum(r.false_alarm for r in results), n)),
            ("twins with no training seen",
             _share(sum(r.twin.status == "no_training" for r in results), n)),
            ("lossdoctor runs that wrote no report",
             str(sum((r.broken.status == "failed") + (r.twin.status == "failed")
                     for r in results))),
            ("lossdoctor time per run (mean)",
             f"{sum(r.broken.seconds + r.twin.seconds for r in results) / max(1, 2 * n):.1f} s")]
    return _table(["measure", "value"], rows)


def per_cause(results: list[Scored]) -> str:
    groups = _grouped(results, lambda r: r.cause)
    rows = []
    for cause, group in sorted(groups.items()):
        firsts = Counter(r.broken.ids[0] if r.broken.ids else f"({r.broken.status})"
                         for r in group if not r.top1)
        rows.append((cause, str(len(group)), _share(sum(r.top1 for r in group), len(group)),
                     _share(sum(r.top3 for r in group), len(group)),
                     str(sum(r.called_healthy for r in group)),
                     str(sum(r.false_alarm for r in group)),
                     ", ".join(f"{name} x{count}" for name, count in firsts.most_common(3))))
    return _table(["expected cause", "cases", "top-1", "top-3", "called healthy",
                   "twin false alarms", "reported first instead"], rows)


def per_operator(results: list[Scored]) -> str:
    groups = _grouped(results, lambda r: r.entry["operator"])
    rows = [(name, group[0].cause, str(len(group)), str(sum(r.top1 for r in group)),
             str(sum(r.top3 for r in group)))
            for name, group in sorted(groups.items(), key=lambda item: (item[1][0].cause,
                                                                        item[0]))]
    return _table(["operator", "cause", "cases", "top-1", "top-3"], rows)


def findings(results: list[Scored]) -> list[tuple[float, bool, bool]]:
    """(confidence, right, on a twin) for every reported finding."""
    return [found[1:] for found in named_findings(results)]


def named_findings(results: list[Scored]) -> list[tuple[str, float, bool, bool]]:
    """(cause id, confidence, right, on a twin) for every reported finding."""
    found = []
    for r in results:
        expected = set(r.entry["expected"])
        found += [(c["id"], c["confidence"], c["id"] in expected, False) for c in r.broken.causes]
        found += [(c["id"], c["confidence"], False, True) for c in r.twin.causes]
    return found


def calibration(results: list[Scored]) -> str:
    bins: dict[float, list[tuple[float, bool, bool]]] = defaultdict(list)
    for finding in findings(results):
        edge = _bin_edge(finding[0])
        bins[edge].append(finding)
    rows = []
    for edge in BIN_EDGES:
        group = bins.get(edge, [])
        if not group and edge < BIN_EDGES[1]:
            continue
        upper = BIN_EDGES[BIN_EDGES.index(edge) + 1] if edge != BIN_EDGES[-1] else 1.0
        right = sum(f[1] for f in group)
        mean = sum(f[0] for f in group) / len(group) if group else 0.0
        rows.append((f"[{edge:.1f}, {upper:.1f}{']' if upper == 1.0 else ')'}", str(len(group)),
                     str(sum(f[2] for f in group)), str(right),
                     f"{right / len(group):.2f}" if group else "-",
                     f"{mean:.2f}" if group else "-"))
    return _table(["confidence", "findings", "of them on twins", "right", "share right",
                   "mean confidence"], rows)


def calibration_per_cause(results: list[Scored]) -> str:
    """Per reported cause, "right/findings" in each confidence bin from 0.5: which causes
    claim more than they deliver, and at which confidence."""
    cells: dict[str, dict[float, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for cause, confidence, right, _ in named_findings(results):
        cells[cause][_bin_edge(confidence)].append(right)
    edges = BIN_EDGES[1:]
    rows = [(cause, *(f"{sum(by_bin[e])}/{len(by_bin[e])}" if by_bin[e] else "" for e in edges),
             f"{sum(sum(v) for v in by_bin.values())}/{sum(len(v) for v in by_bin.values())}")
            for cause, by_bin in sorted(cells.items())]
    header = ["cause", *(f"{e:.1f}-" for e in edges), "all"]
    return _table(header, rows) if rows else "(none)"


def _bin_edge(confidence: float) -> float:
    return max(e for e in BIN_EDGES if confidence >= e)


def twin_alarms(results: list[Scored]) -> str:
    counts = Counter(c["id"] for r in results for c in r.twin.causes)
    if not counts:
        return "(none)"
    return _table(["cause", "twins"], [(name, str(n)) for name, n in counts.most_common()])


def errored_checks(results: list[Scored]) -> str:
    errors: dict[str, list[str]] = defaultdict(list)
    for r in results:
        for report in (r.broken, r.twin):
            for check in report.checks:
                if check["status"] == "error":
                    errors[check["name"]].append(check["reason"])
            if report.status == "failed":
                errors["(lossdoctor run)"].append(report.error)
    if not errors:
        return "(none)"
    rows = [(name, str(len(reasons)), Counter(reasons).most_common(1)[0][0][:120]
             .replace("|", "\\|"))
            for name, reasons in sorted(errors.items())]
    return _table(["check", "errors", "most common reason"], rows)


def _grouped(results: list[Scored], key) -> dict[str, list[Scored]]:
    groups: dict[str, list[Scored]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    return groups


def _share(count: int, total: int) -> str:
    return f"{count}/{total} ({100 * count / total:.0f}%)" if total else "0/0"


def _table(header: list[str], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(header))) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
