"""What `lossdoctor run` costs on the seed scripts: wall time of `python SCRIPT` against
`lossdoctor run SCRIPT` (median of N runs each, interleaved), and the causes each run reported.

    python bench/seed_timing.py [--runs 3] [--seed-dir ../shared/seed]

The seed scripts are unseeded, so the causes column counts how many runs reported each cause.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "seed"


@dataclass
class Timing:
    script: str
    plain: list[float] = field(default_factory=list)
    watched: list[float] = field(default_factory=list)
    primaries: Counter = field(default_factory=Counter)
    causes: Counter = field(default_factory=Counter)

    @property
    def extra(self) -> float:
        return statistics.median(self.watched) - statistics.median(self.plain)


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def watched_run(script: Path, timing: Timing) -> None:
    """One `lossdoctor run`: its wall time and the causes its JSON report names."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "lossdoctor", "run", "--json", str(report), script.name]
        timing.watched.append(timed(command, script.parent))
        causes = [cause["id"] for cause in json.loads(report.read_text())["causes"]]
    timing.primaries[causes[0] if causes else "(healthy)"] += 1
    timing.causes.update(causes)


def measure(script: Path, runs: int) -> Timing:
    timing = Timing(script.name)
    for _ in range(runs):
        timing.plain.append(timed([sys.executable, script.name], script.parent))
        watched_run(script, timing)
    return timing


def table(timings: list[Timing], runs: int) -> str:
    header = f"{'script':<28} {'python s':>9} {'lossdoctor s':>13} {'extra s':>8}  causes"
    lines = [header, "-" * len(header)]
    for t in timings:
        lines.append(f"{t.script:<28} {statistics.median(t.plain):>9.2f} "
                     f"{statistics.median(t.watched):>13.2f} {t.extra:>8.2f}  "
                     f"primary {_counts(t.primaries, runs)}; all {_counts(t.causes, runs)}")
    return "\n".join(lines)


def _counts(counter: Counter, runs: int) -> str:
    return ", ".join(f"{name} {count}/{runs}" for name, count in counter.most_common()) or "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind per script")
    parser.add_argument("--seed-dir", type=Path, default=SEED_DIR)
    options = parser.parse_args(argv)
    scripts = sorted(options.seed_dir.resolve().glob("example_*.py"))
    if not scripts:
        parser.error(f"no example_*.py scripts in {options.seed_dir}")
    timings = [measure(script, options.runs) for script in scripts]
    print(table(timings, options.runs))


if __name__ == "__main__":
    main()
