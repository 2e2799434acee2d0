"""How short a replay can be and still tell a fix from none (budget.MIN_REPLAY_STEPS).

    python bench/replay_floor.py CASES_DIR [CASES_DIR ...] --out PAIRS.jsonl

For each dev case folder (written by `bench/devset.py generate`: broken.py and twin.py), the
script is run under lossdoctor's capture, then the user's setup and four candidate fixes (lr /10,
lr x10, Adam at 1e-3, no weight decay) are replayed on copies at each of STEPS; a fix "helped"
at a length when its settled validation loss is checks/_fix.py's MEANINGFUL_IMPROVEMENT below
the setup's at that length. The table counts the pairs whose answer differs from the 300-step
one. Session 22: docs/devset.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import torch

from lossdoctor.case import Case
from lossdoctor.checks._fix import MEANINGFUL_IMPROVEMENT, settled_loss
from lossdoctor.experiments import Plan
from lossdoctor.runner import run_script

STEPS = (30, 45, 60, 90, 150, 300)


def candidate_fixes(lr: float) -> dict[str, dict]:
    return {"lr/10": {"lr": lr / 10}, "lr*10": {"lr": lr * 10},
            "adam_1e-3": {"optimizer_class": torch.optim.Adam, "lr": 1e-3},
            "no_weight_decay": {"hparams": {"weight_decay": 0.0}}}


def helped(before: float, after: float) -> bool:
    if not math.isfinite(after):
        return False
    return not math.isfinite(before) or (before - after) / abs(before) >= MEANINGFUL_IMPROVEMENT


def pairs(folder: Path, script: str) -> list[dict]:
    """The candidate fixes' answers at each length, for one script of a case folder."""
    os.chdir(folder)
    run = run_script(script, [])
    replayer = Case(run.trace, run.copies).replayer
    settled = {name: {k: settled_loss(replayer.replay(Plan(steps=k, **change))) for k in STEPS}
               for name, change in {"setup": {}, **candidate_fixes(
                   replayer.user_lr or 1e-3)}.items()}
    return [{"case": folder.name, "script": script, "fix": name,
             "helped": {k: helped(settled["setup"][k], settled[name][k]) for k in STEPS}}
            for name in settled if name != "setup"]


def table(rows: list[dict]) -> str:
    lines = ["| steps | answers that differ from 300 steps | a fix only when cut | "
             "a fix missed when cut |", "| ---: | --- | ---: | ---: |"]
    for k in STEPS[:-1]:
        differ = [r for r in rows if r["helped"][k] != r["helped"][STEPS[-1]]]
        only = sum(r["helped"][k] for r in differ)
        lines.append(f"| {k} | {len(differ)}/{len(rows)} | {only} | {len(differ) - only} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path, nargs="+", help="case folders (broken.py, twin.py)")
    parser.add_argument("--out", type=Path, required=True, help="pairs, one JSON per line")
    args = parser.parse_args()
    rows = []
    for folder in (c.resolve() for c in args.cases):
        for script in ("broken.py", "twin.py"):
            rows += pairs(folder, script)
    args.out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
