"""The distribution _stuck_outputs' thresholds are chosen on (issue 11): for each case of a
devset folder (the `relu_after_output` operator's, or any), its broken script and its twin
are run in-process under lossdoctor's hooks, and the stuck outputs are measured whatever their
share: whether the model ends clamped at zero, the share of the outputs a positive target
needs that sit at 0, the share of the validation loss they make, and what a replay without the
last ReLU call gains (its relative drop of the validation loss, and whether `helped` passes).

    python bench/stuck_outputs_dev.py DEVSET_FOLDER [--out RESULTS.jsonl]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import runpy
import sys
from pathlib import Path

import torch

from lossdoctor.capture import Recorder, watching
from lossdoctor.case import Case
from lossdoctor.checks import _stuck_outputs as stuck
from lossdoctor.checks._clamped_output import ends_clamped_at_zero
from lossdoctor.checks._fix import helped, improvement
from lossdoctor.findings import Skip


def recorded(script: Path) -> Case:
    recorder = Recorder()
    here = Path.cwd()
    os.chdir(script.parent)
    try:
        with watching(recorder), contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(script), run_name="__main__")
    finally:
        os.chdir(here)
    trace, copies = recorder.finish()
    return Case(trace, copies)


def measured(script: Path) -> dict:
    case = recorded(script)
    try:
        replayer = case.require_replay()
    except Skip as skip:
        return {"error": f"no replay: {skip}"}
    row = {"clamped": ends_clamped_at_zero(case.copies.initial_model, replayer.train_batches,
                                           replayer.predict)}
    batches = replayer.validation_batches or replayer.train_batches
    pairs = [stuck._prediction_and_target(replayer, case.copies.final_model, b)
             for b in batches]
    pairs = [p for p in pairs if p is not None]
    found = stuck._measured(torch.cat([p for p, _ in pairs]),
                            torch.cat([t for _, t in pairs])) if pairs else None
    if found is not None:
        row.update(stuck_share=found.stuck_share, loss_share=found.loss_share,
                   rows_stuck=found.rows_stuck)
    if row["clamped"]:
        experiment = stuck._without_output_relu(case)
        if experiment is None:
            row["replay"] = "none"
        else:
            row.update(replay="made", before=experiment.before, after=experiment.after,
                       gain=improvement(experiment), helped=helped(experiment, case))
            if found is not None and not row["helped"]:
                found.experiment = experiment
                stuck._against_the_run(case, found)
                row["helped_against_run"] = found.replay_unstuck is not None
    passes = [p.loss for p in case.trace.validation_passes()]
    row["run_last_validation"] = passes[-1] if passes else None
    return row


def _entries(folder: Path, log: Path | None) -> list[dict]:
    """The manifest's entries; or, from a generation still under way, those its log shows."""
    if log is None:
        return json.loads((folder / "manifest.json").read_text())
    entries = []
    for line in log.read_text().splitlines():
        case_id, _, rest = line.partition(" ")
        if "kept:" in rest or "dropped:" in rest:
            entries.append({"id": case_id, "kept": "kept:" in rest, "base": rest.split("] ")[1],
                            "folder": f"cases/{case_id}"})
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--kept-only", action="store_true")
    parser.add_argument("--log", type=Path, help="generate's output, while no manifest is "
                        "written yet: the cases it has filtered so far")
    args = parser.parse_args()
    manifest = _entries(args.folder, args.log)
    done = set()
    if args.out and args.out.exists():
        done = {(r["id"], r["side"]) for r in map(json.loads, args.out.read_text().splitlines())}
    for entry in manifest:
        if args.kept_only and not entry["kept"]:
            continue
        for side in ("broken", "twin"):
            if (entry["id"], side) in done:
                continue
            script = args.folder / entry["folder"] / f"{side}.py"
            try:
                row = measured(script)
            except Exception as error:  # a script that fails in-process is reported, not fatal
                row = {"error": f"{type(error).__name__}: {error}"}
            row.update(id=entry["id"], side=side, kept=entry["kept"], base=entry["base"])
            line = json.dumps(row)
            print(line, flush=True)
            if args.out:
                with args.out.open("a") as out:
                    out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
