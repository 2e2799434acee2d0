"""From what a run produced to a diagnosis, or None when no training was seen."""

from __future__ import annotations

from lossdoctor.case import Case
from lossdoctor.diagnosis import Diagnosis, Progress, diagnose
from lossdoctor.script_run import ScriptRun
from lossdoctor.symptom import symptom_of


def training_seen(run: ScriptRun) -> bool:
    return run.trace.steps > 0 and bool(run.trace.train_losses())


def diagnose_run(run: ScriptRun, progress: Progress | None = None,
                 budget: float | None = None) -> Diagnosis | None:
    """The diagnosis, with the symptom the run's curves show (so a broken run with no confirmed
    cause is "unexplained", never healthy). ``budget``: seconds for the checks (None: no limit);
    0 runs no experiment on copies, only what reads the run's own records."""
    if not training_seen(run):
        return None
    case = Case(run.trace, run.copies, experiments=budget != 0)
    diagnosis = diagnose(case, progress=progress, budget=budget or None)
    curve = getattr(run, "curve", None)
    guess = case.constant_guess_loss("validation") if (
        curve is None or curve.chance_loss is None) else None
    diagnosis.symptom = symptom_of(run.trace, curve, guess)
    return diagnosis
