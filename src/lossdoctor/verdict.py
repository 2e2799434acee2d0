"""From what a run produced to a diagnosis, or None when no training was seen."""

from __future__ import annotations

from lossdoctor.budget import default_budget
from lossdoctor.capture.closure_copies import closures_follow_copies
from lossdoctor.case import NO_VALIDATION_ROWS, Case
from lossdoctor.crash_findings import crash_finding
from lossdoctor.curves import PLATEAU, CurveVerdict
from lossdoctor.diagnosis import Diagnosis, Progress, diagnose
from lossdoctor.quiet import silenced
from lossdoctor.script_run import ScriptRun
from lossdoctor.symptom import (
    Symptom,
    symptom_of,
    unjudged_plateau,
    unscored_validation,
    untested,
)

#: Evaluations at this many optimizer steps make a curve of the measure the script follows
#: instead of a validation loss; one at the end of the run is a final test score.
MIN_CURVE_POINTS = 2


def training_seen(run: ScriptRun) -> bool:
    """A loss backward went through (a training loss): with no optimizer step after it, the
    loop that never updates is itself the diagnosis (checks.training_loop)."""
    return bool(run.trace.train_losses())


def diagnose_run(run: ScriptRun, progress: Progress | None = None,
                 budget: float | None = None,
                 training_seconds: float | None = None) -> Diagnosis | None:
    """The diagnosis, with the symptom the run's curves show (so a broken run with no confirmed
    cause is "unexplained", never healthy). ``budget``: seconds for the checks; 0 runs no
    experiment on copies, only what reads the run's own records; None: the default budget for a
    training of ``training_seconds`` (:func:`lossdoctor.budget.default_budget`), which ends
    checks only where it shortened the experiments, or no limit when that is not given."""
    crashed = crash_finding(getattr(run, "crash", None))
    if not training_seen(run):
        return Diagnosis([crashed]) if crashed is not None else None
    # the experiments on copies must not warn into the user's output, and copies of a model
    # whose functions close over its modules must call their own (capture/closure_copies.py)
    with silenced(), closures_follow_copies():
        diagnosis = _diagnosed(run, progress, budget, training_seconds)
    return _crash_first(diagnosis, crashed)


def _crash_first(diagnosis: Diagnosis, crashed) -> Diagnosis:
    """A crash that names its cause ended the run: it leads, before what the checks read
    from the steps taken until then (the same cause found by a check gives way to it)."""
    if crashed is not None:
        diagnosis.causes = [crashed, *(f for f in diagnosis.causes
                                       if f.cause.id != crashed.cause.id)]
    return diagnosis


def _diagnosed(run: ScriptRun, progress: Progress | None, budget: float | None,
               training_seconds: float | None) -> Diagnosis:
    is_default = budget is None and training_seconds is not None
    if is_default:
        budget = default_budget(training_seconds)
    case = Case(run.trace, run.copies, experiments=budget != 0)
    curve = getattr(run, "curve", None)
    guess = case.constant_guess_loss("validation") if (
        curve is None or curve.chance_loss is None) else None
    symptom = symptom_of(run.trace, curve, guess, floor=case.loss_floor())
    case.curves_show_symptom = symptom is not None
    diagnosis = diagnose(case, progress=progress, budget=budget or None,
                         budget_is_default=is_default,
                         symptom=symptom.kind if symptom is not None else None)
    diagnosis.symptom = symptom or _untested(diagnosis, run.trace) or _unjudged(
        diagnosis, curve, guess, case.copies.replay_problem)
    return diagnosis


def _unjudged(diagnosis: Diagnosis, curve: CurveVerdict | None, guess: float | None,
              replay_problem: str) -> Symptom | None:
    """A curve that levelled off is healthy when something judged its level: the constant
    guess, or the experiments on copies (a larger model, another learning rate). With neither
    (no batches kept to make a guess from, and a run that could not be replayed: a
    sequence-to-sequence loop feeding the decoder the encoder's state), a plateau is "could not
    judge", not healthy (fresh27 s06: plain SGD stuck at 2.7 was called healthy)."""
    if diagnosis.causes or curve is None or curve.kind != PLATEAU:
        return None
    if curve.chance_loss is not None or guess is not None or not replay_problem:
        return None
    return unjudged_plateau(curve.message, replay_problem)


def _untested(diagnosis: Diagnosis, trace) -> Symptom | None:
    """A run whose validation curve looks fine is healthy only when the checks could look:
    when the script validated on rows no replay can score (other rows of the training
    forward taken otherwise than by indexing, ``output.index_select(0, idx_val)``; an indexed
    selection is kept with the batch, capture/row_selection.py) and the checks that need a
    validation loss were skipped for want of validation rows, nothing ruled their causes out,
    and the run is "could not test", not healthy. A run with no validation pass at all is
    judged on its training curve, as before: counted untested as well, three healthy fixed
    twins of the corpus (one batch, nothing held out) were no longer quiet, for the one broken
    run this rule is for."""
    passes = len(trace.validation_passes())
    if diagnosis.causes:
        return None
    if passes == 0:
        return _scored_without_a_loss(trace)
    skipped = [o for o in diagnosis.outcomes
               if o.status == "skipped" and o.reason == NO_VALIDATION_ROWS]
    if not skipped:
        return None
    return untested(len(skipped), passes)


def _scored_without_a_loss(trace) -> Symptom | None:
    """A run with no validation loss that evaluated held-out rows at MIN_CURVE_POINTS steps or
    more with no loss after them follows another measure (an accuracy, an AUC) across its
    training: the measure the user watches was not judged, only the training loss (fresh25 s08
    scored its test split by AUC alone and was called healthy). An evaluation at the end only,
    or none, leaves the run judged on its training curve."""
    steps = trace.unscored_evaluation_steps
    return unscored_validation(steps) if steps >= MIN_CURVE_POINTS else None
