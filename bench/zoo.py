"""The scenario zoo as a benchmark: `lossdoctor run` on every script in examples/, one at a time,
and a Markdown table of expected against reported causes.

    python bench/zoo.py [--only PATTERN] [--fast] [--out PATH]

Each script's header says what it expects (`# lossdoctor-expect: primary, others`, empty for a
healthy run) and its model family (`# lossdoctor-family: mlp|cnn|sequence|transformer`).
A broken scenario is right at top-1 when the primary cause is reported first, and right at top-3
when every expected cause is among the first three reported. A healthy run is a false alarm when
anything at all is reported.

The fast subset that `python -m pytest` runs (`# lossdoctor-zoo: fast` in the header) follows a
rule: for each cause the scenario with that primary cause that took least time, and for each
family its quickest healthy run. After a full run this prints the rule's choice on these times,
beside the scripts marked now.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HEADER_LINES = 6
EXPECT = "# lossdoctor-expect:"
FAMILY = "# lossdoctor-family:"
FAST = "# lossdoctor-zoo: fast"
#: Tiny models: more than one thread only makes threads spin against each other.
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TIMEOUT = 300


@dataclass
class Result:
    script: str
    family: str
    expected: list[str]
    reported: list[str]
    seconds: float
    error: str = ""

    @property
    def healthy(self) -> bool:
        return not self.expected

    @property
    def top1(self) -> bool:
        if self.healthy:
            return not self.reported and not self.error
        return bool(self.reported) and self.reported[0] == self.expected[0]

    @property
    def top3(self) -> bool:
        if self.healthy:
            return self.top1
        return set(self.expected) <= set(self.reported[:3])


def header_value(script: Path, prefix: str) -> str | None:
    with script.open(encoding="utf-8") as lines:
        for line in itertools.islice(lines, HEADER_LINES):
            if line.startswith(prefix):
                return line[len(prefix):].strip()
    return None


def is_fast(script: Path) -> bool:
    with script.open(encoding="utf-8") as lines:
        return any(line.strip() == FAST for line in itertools.islice(lines, HEADER_LINES))


def expected_causes(script: Path) -> list[str]:
    value = header_value(script, EXPECT)
    if value is None:
        raise ValueError(f"{script.name}: no '{EXPECT}' line in its first {HEADER_LINES} lines")
    return [cause.strip() for cause in value.split(",") if cause.strip()]


def diagnose(script: Path) -> Result:
    """`python -m lossdoctor run --json` on ``script``, from the script's folder."""
    family = header_value(script, FAMILY) or "?"
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        command = [sys.executable, "-m", "lossdoctor", "run", "--json", str(report_path),
                   script.name]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=script.parent, capture_output=True, env=ENV,
                              timeout=TIMEOUT)
        seconds = time.perf_counter() - start
        if not report_path.exists():
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            return Result(script.stem, family, expected_causes(script), [], seconds,
                          error=f"no report ({' '.join(tail)})")
        report = json.loads(report_path.read_text(encoding="utf-8"))
    reported = [cause["id"] for cause in report["causes"]]
    errors = [c["name"] for c in report.get("checks", []) if c.get("status") == "error"]
    return Result(script.stem, family, expected_causes(script), reported, seconds,
                  error=f"check errors: {', '.join(errors)}" if errors else "")


def table(results: list[Result]) -> str:
    rows = ["| scenario | family | expected | reported (top 3) | top-1 | expected in top 3 | "
            "time (s) |", "| --- | --- | --- | --- | --- | --- | ---: |"]
    for r in results:
        reported = ", ".join(r.reported[:3]) or "(healthy)"
        if r.error:
            reported += f" [{r.error}]"
        rows.append(f"| {r.script} | {r.family} | {', '.join(r.expected) or '(healthy)'} | "
                    f"{reported} | {_mark(r.top1)} | {_mark(r.top3)} | {r.seconds:.1f} |")
    return "\n".join(rows)


def totals(results: list[Result]) -> str:
    broken = [r for r in results if not r.healthy]
    healthy = [r for r in results if r.healthy]
    alarms = sum(not r.top1 for r in healthy)
    return "\n".join([
        f"- scenarios: {len(results)} ({len(broken)} broken, {len(healthy)} healthy)",
        f"- primary cause right (top-1): {_share(sum(r.top1 for r in broken), len(broken))}",
        f"- all expected causes in the top 3: {_share(sum(r.top3 for r in broken), len(broken))}",
        f"- false alarms on healthy runs: {alarms} of {len(healthy)}",
        f"- total time: {sum(r.seconds for r in results):.0f} s",
    ])


def fast_by_rule(results: list[Result]) -> list[str]:
    """The quickest scenario of each primary cause, and of each family's healthy runs."""
    quickest: dict[str, Result] = {}
    for r in results:
        key = r.expected[0] if r.expected else f"healthy {r.family}"
        if key not in quickest or r.seconds < quickest[key].seconds:
            quickest[key] = r
    return sorted(r.script for r in quickest.values())


def fast_subset_note(results: list[Result]) -> str:
    chosen = set(fast_by_rule(results))
    marked = {r.script for r in results if is_fast(EXAMPLES / f"{r.script}.py")}
    if chosen == marked:
        return (f"- fast subset: the {len(marked)} scripts marked are the"
                " rule's choice on these times")
    return (f"- fast subset, the rule's choice on these times: add {sorted(chosen - marked)}, "
            f"drop {sorted(marked - chosen)}")


def _mark(right: bool) -> str:
    return "yes" if right else "**no**"


def _share(count: int, total: int) -> str:
    percent = 100 * count / total if total else 100.0
    return f"{count}/{total} ({percent:.0f}%)"


def scenarios(pattern: str | None, fast: bool = False) -> list[Path]:
    found = sorted(EXAMPLES.glob("*.py"))
    if pattern:
        found = [s for s in found if fnmatch.fnmatch(s.stem, f"*{pattern}*")]
    if fast:
        found = [s for s in found if is_fast(s)]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="PATTERN", help="only scenarios whose name matches")
    parser.add_argument("--fast", action="store_true",
                        help="only the fast subset that `python -m pytest` runs")
    parser.add_argument("--out", metavar="PATH", help="also write the table to PATH")
    args = parser.parse_args()
    results = []
    for script in scenarios(args.only, args.fast):
        results.append(diagnose(script))
        print(f"{script.stem}: {', '.join(results[-1].reported[:3]) or 'healthy'} "
              f"({results[-1].seconds:.1f} s)", file=sys.stderr, flush=True)
    text = f"{table(results)}\n\n{totals(results)}\n"
    if not (args.only or args.fast):
        text += f"{fast_subset_note(results)}\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0 if all(r.top1 and r.top3 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
