"""Write the cases' scripts (broken and twin) and a manifest, running the validity filter."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .cases import Case, make_cases
from .render import render, target_names
from .validity import judge, run_plain

MANIFEST = "manifest.json"


def case_folder(out: Path, case_id: str) -> Path:
    return out / "cases" / case_id


def write_case(case: Case, out: Path) -> dict:
    """Write both scripts; return the case's manifest entry (without the filter's verdict)."""
    folder = case_folder(out, case.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.py").write_text(render(case.broken), encoding="utf-8")
    (folder / "twin.py").write_text(render(case.twin), encoding="utf-8")
    op = case.operator
    return {"id": case.id, "seed": case.seed, "part": case.part, "base": case.twin.base,
            "operator": op.name, "cause": op.cause, "expected": list(op.expected),
            "description": op.description, "folder": str(folder.relative_to(out)),
            "loss": {"twin": case.twin.loss.kind, "broken": case.broken.loss.kind},
            "targets": {"twin": target_names(case.twin), "broken": target_names(case.broken)}}


def filter_case(entry: dict, out: Path) -> dict:
    """Run both scripts plainly and record whether the case is kept, and why."""
    folder = out / entry["folder"]
    runs = {name: run_plain(folder / f"{name}.py", entry["loss"][name],
                            tuple(entry["targets"][name]))
            for name in ("twin", "broken")}
    verdict = judge(runs["twin"], runs["broken"])
    return {**entry, "kept": verdict.kept, "reason": verdict.reason,
            "runs": {name: run.summary() for name, run in runs.items()}}


def generate(count: int, first_seed: int, out: Path, part: str | None = None, jobs: int = 1,
             log: Callable[[str], None] = print) -> list[dict]:
    """Generate, filter and write ``count`` seeds' cases (only ``part``'s if given)."""
    out.mkdir(parents=True, exist_ok=True)
    entries = [write_case(case, out) for case in make_cases(count, first_seed, part)]

    def filtered(entry: dict) -> dict:
        done = filter_case(entry, out)
        log(f"{done['id']} [{done['part']}] {'kept' if done['kept'] else 'dropped'}: "
            f"{done['reason']}")
        return done

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        manifest = list(pool.map(filtered, entries))
    write_manifest(out, manifest)
    return manifest


def write_manifest(out: Path, manifest: list[dict]) -> None:
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def read_manifest(out: Path) -> list[dict]:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
