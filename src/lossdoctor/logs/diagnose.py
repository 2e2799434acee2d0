"""What the curves of a run that already ended can tell, judged by the rules that judge a
watched run: its curve verdict (:mod:`lossdoctor.curves`), its symptom (:mod:`lossdoctor.symptom`)
and the two checks that read curves only, overfitting and the learning-rate schedule (whose
replay cannot run on logs, so its finding rests on the curves). A flat run always has a
symptom: it is never called healthy."""

from __future__ import annotations

from dataclasses import dataclass, field

from lossdoctor.checks import lr_schedule, overfitting
from lossdoctor.curves import JUMPED, OSCILLATING, CurveVerdict, judge_trace
from lossdoctor.diagnosis import Diagnosis, reported_and_dismissed
from lossdoctor.findings import Finding, Skip
from lossdoctor.logs.open_causes import OpenGroup, open_groups
from lossdoctor.symptom import EDGE_SHARE, STALLED_DROP, Symptom, symptom_of
from lossdoctor.trace import Trace

#: The symptoms whose run is best rerun with --stop-on-plateau: the rest of a flat run teaches
#: nothing, and the diagnosis comes as soon as the plateau is confirmed.
FLAT_SYMPTOMS = ("at_chance", "stalled")


@dataclass
class Answer:
    """One question curves can answer: True, False, or None when these logs cannot tell."""

    question: str
    answer: bool | None
    detail: str


@dataclass
class LogDiagnosis:
    diagnosis: Diagnosis
    curve: CurveVerdict
    answers: list[Answer]
    open: list[OpenGroup] = field(default_factory=list)
    command: str = ""


class _CurvesOnly:
    """The case a curve-reading check sees: the trace, and no copies to replay."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def require_replay(self):
        raise Skip("a run read from its logs cannot be replayed")


def diagnose_trace(trace: Trace, chance: float | None, has_lr: bool,
                   script: str | None = None) -> LogDiagnosis:
    curve = judge_trace(trace, chance)
    symptom = _symptom(trace, curve, chance)
    reported, dismissed = reported_and_dismissed(curve_findings(trace))
    diagnosis = Diagnosis(reported, dismissed=dismissed, symptom=symptom)
    found = {f.cause.id for f in diagnosis.causes}
    answers = _answers(trace, curve, symptom, found, chance, has_lr)
    groups = open_groups(symptom.kind if symptom else None, found)
    command = settle_command(symptom, script) if symptom or found else ""
    return LogDiagnosis(diagnosis, curve, answers, groups, command)


def _symptom(trace: Trace, curve: CurveVerdict, chance: float | None) -> Symptom | None:
    """The run's symptom as `lossdoctor run` judges it; then, with a chance level given, whether
    it moved from where it started at all (a flat loss below a given chance level is still
    flat), from its first validation losses when the logs have no training loss; then a curve
    that only swings."""
    symptom = symptom_of(trace, curve, chance)
    if symptom is None and chance is not None:
        symptom = symptom_of(trace, None)
    if symptom is None and not trace.step_losses():
        symptom = _validation_stalled(trace)
    if symptom is None and curve.kind == OSCILLATING:
        symptom = Symptom("oscillating", curve.message)
    return symptom


def _validation_stalled(trace: Trace) -> Symptom | None:
    """Without a training loss: the validation loss's end against its start, by the bar
    symptom.py sets against the untrained model (STALLED_DROP, over EDGE_SHARE of the passes)."""
    losses = [p.loss for p in trace.validation_passes()]
    edge = max(1, int(len(losses) * EDGE_SHARE))
    start, end = sum(losses[:edge]) / edge, sum(losses[-edge:]) / edge
    if len(losses) < 2 or end < (1 - STALLED_DROP) * start:
        return None
    return Symptom("stalled", f"validation loss {end:.4g} barely below where it started "
                              f"({start:.4g})")


def curve_findings(trace: Trace) -> list[Finding]:
    findings: list[Finding] = []
    for check in (overfitting.check, lr_schedule.check):
        try:
            findings += check(_CurvesOnly(trace))
        except Skip:
            continue
    return findings


def settle_command(symptom: Symptom | None, script: str | None) -> str:
    stop = " --stop-on-plateau" if symptom and symptom.kind in FLAT_SYMPTOMS else ""
    return f"lossdoctor run{stop} {script or 'train.py'}"


def _diverging_answer(kind: str | None, curve: CurveVerdict) -> Answer:
    """Yes for a rise or NaN; "cannot tell" for a last pass that jumped (one point: a spike or
    the start of a blow-up), which "did not rise" would contradict."""
    if kind == "diverging":
        return Answer("diverging", True, "")
    if curve.kind == JUMPED:
        return Answer("diverging", None, "the last pass jumped: one point, too few to tell")
    return Answer("diverging", False, "the loss stayed finite and did not rise")


def _answers(trace: Trace, curve: CurveVerdict, symptom: Symptom | None, found: set[str],
             chance: float | None, has_lr: bool) -> list[Answer]:
    """The curves' answers; a "yes" the headline already says in full has no detail."""
    kind = symptom.kind if symptom else None
    swinging = curve.kind == OSCILLATING
    return [
        Answer("flat", kind in FLAT_SYMPTOMS,
               "" if kind in FLAT_SYMPTOMS else "the loss moved well below where it started"),
        _chance_answer(kind, chance),
        Answer("oscillating", swinging, "" if swinging else "no swings beyond the noise"),
        _diverging_answer(kind, curve),
        _found_answer("overfitting", found, bool(trace.validation_passes()),
                      "the validation loss did not rise from its best while training fell",
                      "needs a validation loss: none in these logs"),
        _found_answer("lr_schedule", found, has_lr,
                      "no collapse of the learning rate that stopped the loss, and no raise that "
                      "turned it up",
                      "needs the learning rate: none in these logs (name it with --lr NAME)"),
    ]


def _chance_answer(kind: str | None, chance: float | None) -> Answer:
    if chance is None:
        return Answer("at_chance", None, "needs the loss of a constant guess: pass --classes N "
                      "(cross-entropy over N classes) or --chance LOSS")
    if kind == "at_chance":
        return Answer("at_chance", True, "")
    return Answer("at_chance", False, f"below the constant guess's loss {chance:.4g}")


def _found_answer(cause_id: str, found: set[str], readable: bool, no: str,
                  missing: str) -> Answer:
    if not readable:
        return Answer(cause_id, None, missing)
    return Answer(cause_id, cause_id in found, "the cause below" if cause_id in found else no)
