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
             log: Callable[[str], None] = print, cause: str | None = None,
             operator: str | None = None, manual: bool = False,
             plateau: bool = False, time_major: bool = False,
             two_modules: bool = False) -> list[dict]:
    """Generate, filter and write ``count`` seeds' cases (only ``part``'s and ``cause``'s if
    given; with ``operator``, one case of it per seed; with ``manual``, their parameters
    updated by hand where they can be; with ``plateau``, their rate cut on plateaus; with
    ``time_major``, on bases given (time, batch, ...) batches; with ``two_modules``, on
    MLPs kept as two modules)."""
    out.mkdir(parents=True, exist_ok=True)
    cases = make_cases(count, first_seed, part, cause, operator, manual, plateau, time_major,
                       two_modules)
    entries = [write_case(case, out) for case in cases]

    def filtered(entry: dict) -> dict:
        done = filter_case(entry, out)
        log(f"{done['id']} [{done['part']}] {'kept' if done['kept'] else 'dropped'}: "
            f"{done['reason']}")
        return done

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        manifest = list(pool.map(filtered, entries))
    write_manifest(out, merged(out, manifest))
    return manifest


def merged(out: Path, manifest: list[dict]) -> list[dict]:
    """The folder's manifest with ``manifest``'s entries added (replacing those of equal id),
    so the parts of one range of seeds can be generated one after the other."""
    existing = read_manifest(out) if (out / MANIFEST).exists() else []
    by_id = {entry["id"]: entry for entry in existing + manifest}
    return sorted(by_id.values(), key=lambda entry: entry["seed"])


def write_manifest(out: Path, manifest: list[dict]) -> None:
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def read_manifest(out: Path) -> list[dict]:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def reason_kind(entry: dict) -> str:
    """The drop reason without its numbers: `twin did not learn`, `no symptom`, ..."""
    if entry["kept"]:
        return "kept"
    return entry["reason"].split(" (")[0].split(":")[0]


def filter_summary(manifest: list[dict]) -> str:
    """A Markdown table: per cause, cases generated, kept, and dropped by reason."""
    kinds = sorted({reason_kind(e) for e in manifest} - {"kept"})
    header = ["cause", "generated", "kept", *kinds]
    rows = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    causes = sorted({e["cause"] for e in manifest})
    for cause in [*causes, "all"]:
        group = [e for e in manifest if cause in ("all", e["cause"])]
        counts = [sum(reason_kind(e) == kind for e in group) for kind in ["kept", *kinds]]
        rows.append(f"| {cause} | {len(group)} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(rows)
