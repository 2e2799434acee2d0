"""The real-case corpus as a benchmark: `lossdoctor run --json` on every broken script in corpus/
and on its fixed twin, one at a time, and Markdown tables of expected against reported causes.

    python bench/corpus.py [--only PATTERN ...] [--out PATH] [--timeout SECONDS]
                           [--broken-only] [--reports FOLDER]

Each case is a folder corpus/<case>/ holding broken.py and fixed.py. The first lines of broken.py
say what the thread's answer found (`# lossdoctor-expect: primary, others`), where the thread is
(`# source: URL`) and what the answer said (`# answer: ...`); fixed.py carries the same source,
an empty expect line (nothing should be reported) and the fix (`# fix: ...`). See docs/corpus.md.

A broken script is right at top-1 when the expected primary cause is reported first, and right at
top-3 when every expected cause is among the first three. A fixed twin raises a false alarm when
anything at all is reported. The corpus is reported, never tuned on.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoo import ENV, TIMEOUT, expected_causes, header_value  # noqa: E402

from lossdoctor.checks import catalogue

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SOURCE = "# source:"
ANSWER = "# answer:"
FIX = "# fix:"

#: The cause ids of the README's cause table ("What it checks").
CAUSE_IDS = frozenset(catalogue())


@dataclass
class Run:
    """One `lossdoctor run` of one script."""

    status: str
    reported: list[str]
    seconds: float
    error: str = ""


@dataclass
class Case:
    name: str
    expected: list[str]
    broken: Run
    fixed: Run
    source: str = field(default="")

    @property
    def top1(self) -> bool:
        return bool(self.broken.reported) and self.broken.reported[0] == self.expected[0]

    @property
    def top3(self) -> bool:
        return set(self.expected) <= set(self.broken.reported[:3])

    @property
    def fixed_quiet(self) -> bool:
        """The fixed twin was seen training and nothing was reported."""
        return self.fixed.status == "healthy"


def case_folders(patterns: list[str] | None = None) -> list[Path]:
    """The case folders whose name matches any of ``patterns`` (all of them without one)."""
    folders = sorted(path.parent for path in CORPUS.glob("*/broken.py"))
    if patterns:
        folders = [f for f in folders
                   if any(fnmatch.fnmatch(f.name, f"*{pattern}*") for pattern in patterns)]
    return folders


def diagnose(script: Path, timeout: float = TIMEOUT, keep: Path | None = None,
             python: str = sys.executable) -> Run:
    """`python -m lossdoctor run --quiet --json` on ``script``, from the script's folder, with the
    interpreter ``python``; the JSON report is also copied to ``keep`` when given."""
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        command = [python, "-m", "lossdoctor", "run", "--quiet", "--json",
                   str(report_path), script.name]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=script.parent, capture_output=True, env=ENV,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return Run("timed out", [], time.perf_counter() - start,
                       error=f"timed out after {timeout:.0f} s")
        seconds = time.perf_counter() - start
        if not report_path.exists():
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            return Run("no report", [], seconds, error=" ".join(tail))
        text = report_path.read_text(encoding="utf-8")
        if keep is not None:
            keep.write_text(text, encoding="utf-8")
        report = json.loads(text)
    return Run(report["status"], [cause["id"] for cause in report["causes"]], seconds,
               error=_run_errors(report))


def _run_errors(report: dict) -> str:
    """The script's own failure and the checks that raised, in a few words."""
    problems = []
    if report.get("exit_code"):
        problems.append(f"script exit code {report['exit_code']}")
    errors = [c["name"] for c in report.get("checks", []) if c.get("status") == "error"]
    if errors:
        problems.append(f"check errors: {', '.join(errors)}")
    return "; ".join(problems)


#: What stands for the fixed twin's run when only broken scripts are run.
NOT_RUN = Run("not run", [], 0.0)


def run_case(folder: Path, timeout: float = TIMEOUT, broken_only: bool = False,
             reports: Path | None = None) -> Case:
    """Both scripts of one case (only broken.py with ``broken_only``); their JSON reports are kept
    in ``reports`` as <case>.broken.json and <case>.fixed.json when given."""
    broken, fixed = folder / "broken.py", folder / "fixed.py"

    def kept(kind: str) -> Path | None:
        return reports / f"{folder.name}.{kind}.json" if reports else None

    fixed_run = NOT_RUN if broken_only else diagnose(fixed, timeout, kept("fixed"))
    return Case(folder.name, expected_causes(broken), diagnose(broken, timeout, kept("broken")),
                fixed_run, header_value(broken, SOURCE) or "")


def case_table(cases: list[Case]) -> str:
    rows = ["| case | expected | broken: reported (top 3) | top-1 | top-3 | status | "
            "fixed: reported | time (s) |",
            "| --- | --- | --- | --- | --- | --- | --- | ---: |"]
    for c in cases:
        rows.append(f"| {c.name} | {', '.join(c.expected)} | {_reported(c.broken)} | "
                    f"{_mark(c.top1)} | {_mark(c.top3)} | {c.broken.status} | "
                    f"{_reported(c.fixed, quiet_is_right=True)} | "
                    f"{c.broken.seconds + c.fixed.seconds:.0f} |")
    return "\n".join(rows)


def totals(cases: list[Case]) -> str:
    n = len(cases)
    fixed_no_training = sum(c.fixed.status == "no_training" for c in cases)
    fixed_run = sum(c.fixed is not NOT_RUN for c in cases)
    errors = sum(bool(c.broken.error) + bool(c.fixed.error) for c in cases)
    return "\n".join([
        f"- cases: {n} ({len(covered_causes(cases))} distinct expected primary causes)",
        f"- primary cause right (top-1): {_share(sum(c.top1 for c in cases), n)}",
        f"- all expected causes in the top 3: {_share(sum(c.top3 for c in cases), n)}",
        f"- broken scripts called healthy: {sum(c.broken.status == 'healthy' for c in cases)}",
        f"- broken scripts seen as no training: "
        f"{sum(c.broken.status == 'no_training' for c in cases)}",
        f"- false alarms on fixed twins (anything reported): "
        f"{sum(bool(c.fixed.reported) for c in cases)} of {fixed_run} run"
        f" (fixed twins seen as no training: {fixed_no_training})",
        f"- runs (of {n + fixed_run}) with a check error or a failed script: {errors}",
        f"- total time: {sum(c.broken.seconds + c.fixed.seconds for c in cases):.0f} s",
    ])


def cause_table(cases: list[Case]) -> str:
    by_cause: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_cause[c.expected[0]].append(c)
    rows = ["| expected primary cause | cases | top-1 | top-3 | fixed twins quiet |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for cause in sorted(by_cause):
        group = by_cause[cause]
        rows.append(f"| {cause} | {len(group)} | {sum(c.top1 for c in group)} | "
                    f"{sum(c.top3 for c in group)} | {sum(c.fixed_quiet for c in group)} |")
    return "\n".join(rows)


def covered_causes(cases: list[Case]) -> set[str]:
    return {c.expected[0] for c in cases}


def _reported(run: Run, quiet_is_right: bool = False) -> str:
    if run.reported:
        text = ", ".join(run.reported[:3])
        text = f"**{text}**" if quiet_is_right else text
    else:
        text = f"({run.status})"
    return f"{text} [{run.error}]" if run.error else text


def _mark(right: bool) -> str:
    return "yes" if right else "**no**"


def _share(count: int, total: int) -> str:
    percent = 100 * count / total if total else 100.0
    return f"{count}/{total} ({percent:.0f}%)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="PATTERN", nargs="+",
                        help="only cases whose name matches one of the patterns")
    parser.add_argument("--out", metavar="PATH", help="also write the tables to PATH")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds per lossdoctor run (default {TIMEOUT})")
    parser.add_argument("--broken-only", action="store_true",
                        help="run only the broken scripts (fixed twins show as 'not run')")
    parser.add_argument("--reports", metavar="FOLDER",
                        help="keep every run's JSON report in FOLDER")
    args = parser.parse_args()
    reports = Path(args.reports) if args.reports else None
    if reports:
        reports.mkdir(parents=True, exist_ok=True)
    cases = []
    for folder in case_folders(args.only):
        cases.append(run_case(folder, args.timeout, args.broken_only, reports))
        c = cases[-1]
        print(f"{c.name}: broken {', '.join(c.broken.reported[:3]) or c.broken.status}; "
              f"fixed {', '.join(c.fixed.reported[:3]) or c.fixed.status} "
              f"({c.broken.seconds + c.fixed.seconds:.0f} s)", file=sys.stderr, flush=True)
    text = (f"{case_table(cases)}\n\n{totals(cases)}\n\nBy expected primary cause:\n\n"
            f"{cause_table(cases)}\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
