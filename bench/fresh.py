"""The fresh sets (bench/fresh16 ... bench/fresh21): scripts reproduced from public threads, each
under `lossdoctor run --json`, one at a time, scored against the cause its first line expects.

    python bench/fresh.py bench/fresh21 [bench/fresh20 ...] [--only PATTERN ...]
                          [--framework-python PATH] [--reports FOLDER] [--out PATH]
                          [--timeout SECONDS]

Each set is a folder of sNN_*.py scripts whose first line is `# lossdoctor-expect: cause` (empty
for a healthy or fixed twin); its README gives each script's thread. A script is right when its
expected cause is reported first, and a healthy twin when its run is called healthy. A script that
imports lightning, transformers or keras runs with --framework-python (default: this Python); when
that Python cannot import the framework, the script is listed as skipped, not as a miss. The code
diagnosed is the lossdoctor that Python imports: set PYTHONPATH to another src/ to measure it.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import functools
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import NOT_RUN, Run, diagnose  # noqa: E402
from zoo import ENV, TIMEOUT, expected_causes  # noqa: E402

#: Top-level imports that need the framework extras (pip install -e ".[frameworks]").
FRAMEWORKS = frozenset({"lightning", "pytorch_lightning", "transformers", "keras"})


@dataclass
class Result:
    script: Path
    expected: str  # the cause expected first; "" for a healthy twin
    run: Run
    skipped: str = ""  # why the script was not run

    @property
    def right(self) -> bool:
        if self.expected:
            return bool(self.run.reported) and self.run.reported[0] == self.expected
        return self.run.status == "healthy"

    @property
    def broken_called_healthy(self) -> bool:
        return bool(self.expected) and self.run.status == "healthy"

    @property
    def twin_with_a_cause(self) -> bool:
        return not self.expected and bool(self.run.reported)


def scripts_of(sets: list[Path], patterns: list[str] | None = None) -> list[Path]:
    found = [script for folder in sets for script in sorted(folder.glob("s[0-9]*.py"))]
    if patterns:
        found = [s for s in found if any(fnmatch.fnmatch(s.name, f"*{p}*") for p in patterns)]
    return found


def frameworks_needed(script: Path) -> set[str]:
    """The frameworks among the script's imports (read from its syntax tree, never run)."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names & FRAMEWORKS


#: Keras 3 imports TensorFlow unless told another backend: the scripts choose torch themselves
#: (os.environ before the import), and so does the import test.
IMPORT_ENV = {"KERAS_BACKEND": "torch", **ENV}


@functools.cache
def importable(python: str, module: str) -> bool:
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                          env=IMPORT_ENV)
    return done.returncode == 0


def run_script(script: Path, python: str, framework_python: str, timeout: float,
               reports: Path | None) -> Result:
    expected = (expected_causes(script) or [""])[0]
    needed = frameworks_needed(script)
    if needed:
        python = framework_python
        missing = sorted(name for name in needed if not importable(python, name))
        if missing:
            return Result(script, expected, NOT_RUN,
                          skipped=f"{python} cannot import {', '.join(missing)}")
    keep = reports / f"{script.parent.name}.{script.stem}.json" if reports else None
    return Result(script, expected, diagnose(script, timeout, keep, python))


def table(results: list[Result]) -> str:
    rows = ["| set | script | expected | reported (top 3) | status | right | time (s) |",
            "| --- | --- | --- | --- | --- | --- | ---: |"]
    for r in results:
        reported = ", ".join(r.run.reported[:3]) or "-"
        if r.run.error:
            reported += f" [{r.run.error}]"
        mark = "skipped" if r.skipped else ("yes" if r.right else "**no**")
        rows.append(f"| {r.script.parent.name} | {r.script.stem} | {r.expected or '(healthy)'} "
                    f"| {reported} | {r.skipped or r.run.status} | {mark} | "
                    f"{r.run.seconds:.0f} |")
    return "\n".join(rows)


def totals(results: list[Result]) -> str:
    ran = [r for r in results if not r.skipped]
    broken = [r for r in ran if r.expected]
    healthy = [r for r in ran if not r.expected]
    return "\n".join([
        f"- right first: {sum(r.right for r in ran)}/{len(ran)}"
        f" (broken {sum(r.right for r in broken)}/{len(broken)},"
        f" healthy twins quiet {sum(r.right for r in healthy)}/{len(healthy)})",
        f"- broken scripts called healthy: {sum(r.broken_called_healthy for r in ran)}",
        f"- healthy twins with a cause: {sum(r.twin_with_a_cause for r in ran)}",
        f"- skipped: {len(results) - len(ran)}",
        f"- total time: {sum(r.run.seconds for r in ran):.0f} s",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="fresh set folders")
    parser.add_argument("--only", metavar="PATTERN", nargs="+",
                        help="only scripts whose name matches one of the patterns")
    parser.add_argument("--framework-python", default=sys.executable,
                        help="the Python with lightning/transformers/keras (default: this one)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help=f"seconds per lossdoctor run (default {TIMEOUT})")
    parser.add_argument("--reports", metavar="FOLDER", type=Path,
                        help="keep every run's JSON report in FOLDER")
    parser.add_argument("--out", metavar="PATH", help="also write the tables to PATH")
    args = parser.parse_args()
    missing = [str(folder) for folder in args.sets if not folder.is_dir()]
    if missing:
        parser.error(f"no such folder: {', '.join(missing)}")
    if args.reports:
        args.reports.mkdir(parents=True, exist_ok=True)
    results = []
    for script in scripts_of(args.sets, args.only):
        results.append(run_script(script, sys.executable, args.framework_python,
                                  args.timeout, args.reports))
        r = results[-1]
        print(f"{script.parent.name}/{script.stem}: expected {r.expected or '(healthy)'}; "
              f"{r.skipped or ', '.join(r.run.reported[:3]) or r.run.status}"
              f" ({r.run.seconds:.0f} s)", file=sys.stderr, flush=True)
    text = f"{table(results)}\n\n{totals(results)}\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
