"""From what a run produced to a diagnosis, or None when no training was seen."""

from __future__ import annotations

from lossdoctor.case import Case
from lossdoctor.diagnosis import Diagnosis, diagnose
from lossdoctor.script_run import ScriptRun


def training_seen(run: ScriptRun) -> bool:
    return run.trace.steps > 0 and bool(run.trace.train_losses())


def diagnose_run(run: ScriptRun) -> Diagnosis | None:
    if not training_seen(run):
        return None
    return diagnose(Case(run.trace, run.copies))
