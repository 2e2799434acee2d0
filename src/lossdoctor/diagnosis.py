"""Run every check on a case, and rank what they find into a diagnosis."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from lossdoctor import budget as budgets
from lossdoctor import stopping
from lossdoctor.below_floor_replays import stand_down
from lossdoctor.calibration import calibrated
from lossdoctor.capture.closure_copies import closures_follow_copies
from lossdoctor.checks import CheckModule, check_modules
from lossdoctor.checks.optimizer_choice import plain_sgd
from lossdoctor.checks.over_regularized import regularization_of
from lossdoctor.evidence_kinds import (
    follows_training,
    leads,
    replay_explains_shown,
    training_fails,
)
from lossdoctor.findings import INIT_CAUSE, INIT_IS_SOURCE, Finding, Skip
from lossdoctor.lr_range import PROBE_ROWS, span_around
from lossdoctor.measured_consequences import (
    DECLARED_CONSEQUENCE_CONFIDENCE,
    MEASURED_CONSEQUENCE_CONFIDENCE,
    declares,
    fix_far_better,
    lower_fix_leads,
    measured_roots,
    upstream_leads,
)
from lossdoctor.sandbox import run_threads
from lossdoctor.symptom import Symptom

#: Below this confidence a finding is kept in the JSON but not reported as a cause.
REPORT_THRESHOLD = 0.5


#: Why a check has no result when the diagnosis was stopped.
STOPPED_REASON = "not finished: the diagnosis was stopped (Ctrl-C, SIGTERM, or the time left " \
    "after SIGTERM ran out)"


@dataclass
class CheckOutcome:
    name: str
    status: str  # "ran", "skipped", "error" (failed inside lossdoctor) or "stopped" (Ctrl-C,
    # or the time budget ran out)
    reason: str = ""
    causes: list[str] = field(default_factory=list)  # the ids the check looks for
    seconds: float = 0.0  # wall time the check took


@dataclass
class Diagnosis:
    causes: list[Finding]
    outcomes: list[CheckOutcome] = field(default_factory=list)
    dismissed: list[Finding] = field(default_factory=list)
    symptom: Symptom | None = None  # what the curves show, when they are not healthy

    @property
    def status(self) -> str:
        """"causes_found"; "unexplained" when the curves show the symptom and no cause was
        confirmed; "incomplete" when neither, but a check failed inside lossdoctor or was
        stopped (it might have found a cause); "healthy" only when none of these."""
        if self.causes:
            return "causes_found"
        if self.symptom is not None:
            return "unexplained"
        return "incomplete" if self.unfinished else "healthy"

    @property
    def unfinished(self) -> list[CheckOutcome]:
        """The checks that failed inside lossdoctor or were stopped."""
        return [o for o in self.outcomes if o.status in ("error", "stopped")]

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"


def rank(findings: list[Finding]) -> list[Finding]:
    """Primary cause first. Findings that another finding explains (a consequence of it) follow
    the ones that explain them; then a cause that makes the others moot leads (a broken loss
    contract, then no_signal); then the kinds of evidence that lead by the rule of
    :mod:`lossdoctor.evidence_kinds` (a finding shown in the run's records, that no replayed fix
    removes, ahead of the others); then by confidence (calibrated: how often such findings were
    right), between equal ones by the checks' own; ties by the stable id. A finding about the
    validation code alone then goes after the findings about training it follows when the
    training itself fails (:func:`lossdoctor.evidence_kinds.follows_training`).

    One rule between two roots: a finding that names a failure seen in the run (gradients that
    explode through the layers from the first step) and measured the initialization as its source
    (``findings.INIT_IS_SOURCE``: a replay from the default init removed it) goes just ahead of
    ``bad_init``'s, which is then not its root. Both carry the same fix (the default init); the
    named failure is what the user sees in the run and says why the init fails (each layer's
    output larger than the one before, units pinned), where "the initialization is off" does
    not; peer tools (AutoTrainer) name the problem so, with the init as its source.

    Another rule between two roots, both confirmed by their own replayed fix and alike in
    precedence and evidence kind: the one whose cause sits upstream (the data before the init
    before the training settings) goes just ahead of the other, unless the other's fix did clearly
    more (:func:`lossdoctor.measured_consequences.upstream_leads`, where the reason is written):
    their confidences differ there by noise, not by which one the user must fix first. Two such
    roots the stage rule leaves alone go in the order of where their fixes got, when both were
    replayed on one budget and one settled clearly lower
    (:func:`lossdoctor.measured_consequences.lower_fix_leads`)."""
    mark_consequences(findings)
    return _named_failures_first(_after_their_roots(_validation_after_training(_leaders_first(
        sorted(findings, key=lambda f: (bool(f.explained_by), -f.cause.precedence, not leads(f),
                                        -f.confidence, -_own_confidence(f), f.cause.id))))))


def _leaders_first(ordered: list[Finding]) -> list[Finding]:
    """``ordered`` with each root that leads another (``_leading_root``) moved just ahead of
    it when it came after (it takes the other's place; the other and the findings between follow
    it in their order)."""
    placed: list[Finding] = []
    pending = list(ordered)
    while pending:
        ready = _first_leader(pending[0], pending, [])
        placed.append(ready)
        pending.remove(ready)
    return placed


def _first_leader(finding: Finding, pending: list[Finding], passed: list[Finding]) -> Finding:
    """``finding``, or the first finding of ``pending`` that leads it, followed further up; a
    finding met twice (the two rules in a cycle) ends the chain where it is."""
    ahead = next((other for other in pending if _leading_root(other, finding)), None)
    if ahead is None or any(ahead is seen for seen in passed):
        return finding
    return _first_leader(ahead, pending, [*passed, finding])


def _leading_root(leader: Finding, other: Finding) -> bool:
    """Whether both are roots of the same precedence and evidence kind's lead, and ``leader``
    leads ``other`` by ``upstream_leads`` or ``lower_fix_leads``: the rules order roots the sort
    left to their confidences, never past a rule above them."""
    return (not leader.explained_by and not other.explained_by
            and leader.cause.precedence == other.cause.precedence
            and leads(leader) == leads(other)
            and (upstream_leads(leader, other) or lower_fix_leads(leader, other)))


def _validation_after_training(ordered: list[Finding]) -> list[Finding]:
    """``ordered`` with each finding about the validation code alone moved just after the last
    finding about training it follows (evidence_kinds.follows_training), the order kept
    otherwise."""
    placed = list(ordered)
    for finding in ordered:
        led_by = [i for i, other in enumerate(placed) if follows_training(finding, other)]
        if led_by and placed.index(finding) < led_by[-1]:
            placed.remove(finding)
            placed.insert(led_by[-1], finding)
    return placed


def _named_failures_first(ordered: list[Finding]) -> list[Finding]:
    """``ordered`` with each root that names the init as its source (INIT_IS_SOURCE) moved just
    ahead of the bad_init finding when that one came first."""
    placed = list(ordered)
    for finding in ordered:
        if not _init_is_source(finding) or finding.explained_by:
            continue
        init = next((i for i, f in enumerate(placed) if f.cause.id == INIT_CAUSE), None)
        if init is not None and init < placed.index(finding):
            placed.remove(finding)
            placed.insert(init, finding)
    return placed


def _init_is_source(finding: Finding) -> bool:
    return finding.evidence.get(INIT_IS_SOURCE, 0.0) > 0


def _own_confidence(finding: Finding) -> float:
    """The check's own confidence (before calibration)."""
    return finding.confidence if finding.own_confidence is None else finding.own_confidence


def _after_their_roots(ordered: list[Finding]) -> list[Finding]:
    """``ordered`` with each finding moved after every finding found that explains it, the
    order kept otherwise: among consequences confidence alone put batch_size, explained by
    lr_too_low, ahead of it (bad_init_cnn_uniform: "2 follows from 1 and 3", "found above" of
    a cause listed below). A cycle, which no declared consequence makes, keeps the order."""
    found = {f.cause.id for f in ordered}
    placed: list[Finding] = []
    pending = list(ordered)
    while pending:
        done = {f.cause.id for f in placed}
        ready = next((f for f in pending
                      if all(i in done or i not in found for i in f.explained_by)), pending[0])
        placed.append(ready)
        pending.remove(ready)
    return placed


def mark_consequences(findings: list[Finding]) -> None:
    """Record on each finding which other findings explain it: those whose cause declares it
    among its consequences (for a shown finding, only those whose replayed fix removes it:
    :func:`lossdoctor.evidence_kinds.replay_explains_shown`), unless the fixes' measured effects
    say the other way round, and those whose measured fix does as much as this setting's
    (:mod:`lossdoctor.measured_consequences`). A consequence's confidence as a cause of its own
    is then at most how often such findings were right on the development cases:
    MEASURED_CONSEQUENCE_CONFIDENCE when measured, DECLARED_CONSEQUENCE_CONFIDENCE when only
    declared."""
    measured = {id(f): measured_roots(f, findings) for f in findings}
    for finding in findings:
        declared = [
            other.cause.id for other in findings
            if _declared_root(other, finding) and finding.cause.id not in measured[id(other)]
        ]
        finding.explained_by = declared + [
            cause for cause in measured[id(finding)] if cause not in declared]
        if measured[id(finding)]:
            finding.confidence = min(finding.confidence, MEASURED_CONSEQUENCE_CONFIDENCE)
        elif declared:
            finding.confidence = min(finding.confidence, DECLARED_CONSEQUENCE_CONFIDENCE)


def _declared_root(other: Finding, finding: Finding) -> bool:
    """Whether ``other``'s cause declares ``finding`` its consequence; a shown finding
    (``Finding.root``) only by the rule between evidence kinds; none whose replayed fix did far
    better than ``other``'s, which did not work (``fix_far_better``)."""
    if other.cause.id == INIT_CAUSE and _init_is_source(finding):
        return False  # the named failure leads the init it names (rank)
    if training_fails(other):
        return False  # no validation code makes a training learn nothing (rank)
    if finding.root:
        return replay_explains_shown(other, finding)
    return (other.cause != finding.cause and declares(other, finding)
            and not fix_far_better(finding, other))


def _timed_check(module: CheckModule, case, findings: list[Finding], replayer=None,
                 refusal: str | None = None) -> CheckOutcome:
    """The check's outcome; with ``refusal``, it runs with every experiment on copies refused
    for that reason (it reads the run's records alone). A check that met a refusal, then or at
    the deadline, did not finish its work: it is "stopped", whatever it found in the records."""
    start = time.perf_counter()
    refused_before = replayer.refused if replayer is not None else 0
    with _refusing(replayer, refusal):
        outcome = _run_check(module, case, findings)
    if outcome.status == "ran" and replayer is not None and replayer.refused > refused_before:
        outcome = CheckOutcome(module.name, "stopped", replayer.last_refusal, outcome.causes)
    outcome.seconds = round(time.perf_counter() - start, 3)
    return outcome


@contextmanager
def _refusing(replayer, refusal: str | None):
    if replayer is None or refusal is None:
        yield
        return
    replayer.refusal = refusal
    try:
        yield
    finally:
        replayer.refusal = None


def _run_check(module: CheckModule, case, findings: list[Finding]) -> CheckOutcome:
    ids = [cause.id for cause in module.causes]
    try:
        with stopping.interruptible():
            found = list(module.check(case))
        _check_declared(module, found)
    except KeyboardInterrupt:
        return CheckOutcome(module.name, "stopped", STOPPED_REASON, ids)
    except budgets.OutOfTime as out_of_time:
        return CheckOutcome(module.name, "stopped", str(out_of_time), ids)
    except Skip as skip:
        return CheckOutcome(module.name, "skipped", str(skip), ids)
    except Exception as error:  # noqa: BLE001 - a broken check must not hide the others
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return CheckOutcome(module.name, "error", detail, ids)
    findings.extend(stand_down(found, case))
    return CheckOutcome(module.name, "ran", "", ids)


def _out_of_time(module: CheckModule, budget: float) -> CheckOutcome:
    return CheckOutcome(module.name, "stopped", budgets.out_of_time(budget),
                        [cause.id for cause in module.causes])


def _refusal(module: CheckModule, fitted: Fitted, budget: float | None,
             case) -> str | None:
    """Why the check must run without experiments on copies, or None when they may run: the
    deadline has passed, or the check's least experiments cannot fit the time left (started,
    they would only be cut at the deadline, having spent the time the checks after it could
    use). Either way the check still runs: what reads the run's own records costs nothing."""
    if fitted.deadline is None:
        return None
    left = fitted.deadline - time.monotonic()
    if left < 0:
        return budgets.out_of_time(budget)
    least = budgets.least_seconds(module.name, _run_size(fitted, case))
    return budgets.too_costly(least, left, budget) if least > left else None


def _reserve_for(later: list[CheckModule], fitted: Fitted, case) -> None:
    """Tell the replayer what the checks after this one need at least: an experiment that
    sizes itself to the time left (the capacity check's larger model) leaves them that."""
    if fitted.replayer is None or fitted.deadline is None:
        return
    size = _run_size(fitted, case)
    fitted.replayer.reserved = sum(budgets.least_seconds(m.name, size) for m in later)


def _run_size(fitted: Fitted, case) -> budgets.RunSize:
    """What experiments cost on this case (see :class:`lossdoctor.budget.RunSize`)."""
    replayer = fitted.replayer
    if replayer is None:
        return budgets.RunSize(fitted.step_seconds, fitted.fraction)
    train = replayer.train_batches
    rows = max(train[0].rows, 1) if train else 1
    user_lr = replayer.user_lr
    return budgets.RunSize(
        fitted.step_seconds, fitted.fraction, len(train), len(replayer.validation_batches),
        probe_batches=min(len(train), max(1, PROBE_ROWS // rows)),
        range_test_steps=span_around(user_lr)[2] if user_lr and user_lr > 0 else 0,
        baseline_made="baseline" in vars(case), **_setup_flags(case))


def _regularized(case) -> bool:
    """Whether over_regularized will replay this run (its setup alone says; never fails)."""
    try:
        return regularization_of(case).present
    except Exception:  # noqa: BLE001 - a setup it cannot read: the check will say so itself
        return False


def _stopped(module: CheckModule) -> CheckOutcome:
    return CheckOutcome(module.name, "stopped", STOPPED_REASON,
                        [cause.id for cause in module.causes])


def _check_declared(module: CheckModule, found: list[Finding]) -> None:
    """A check reports only the causes its module declares: anything else is its bug."""
    declared = {cause.id for cause in module.causes}
    for finding in found:
        if getattr(finding.cause, "id", None) not in declared:
            raise TypeError(f"checks/{module.name}.py reported {finding.cause!r}, which it does "
                            f"not declare in CAUSES ({sorted(declared)})")


#: Told before each check: (the check's module, its position from 1, how many checks there are).
Progress = Callable[[CheckModule, int, int], None]


def diagnose(case, modules: tuple[CheckModule, ...] | None = None,
             progress: Progress | None = None, budget: float | None = None,
             budget_is_default: bool = False, symptom: str | None = None) -> Diagnosis:
    """Run each check on the case, cheapest first (:func:`lossdoctor.budget.in_order`); a check
    that lacks its input or fails is recorded, not raised. With ``budget`` (seconds), the
    experiments are sized to fit it; past it (or where a check's least experiments cannot fit
    the time left) checks still run on the run's records, with every experiment refused, and a
    check that met a refusal is "stopped", saying so; a default budget
    (``budget_is_default``) ends experiments only where it shortened them (see
    :func:`lossdoctor.budget.enforced`). The outcomes are listed in the catalogue's order,
    whatever order the checks ran in. ``symptom``: the kind of symptom the run's curves show
    (:mod:`lossdoctor.symptom`), which moves the checks it points to ahead of the costly ones
    (:data:`lossdoctor.budget.POINTED_BY_SYMPTOM`)."""
    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    modules = modules if modules is not None else check_modules()
    order = _in_order(modules, symptom, _setup_calls(case))
    copies = getattr(case, "copies", None)
    threads = run_threads(copies.threads if copies is not None else 0)
    with threads, closures_follow_copies(), \
            _fitted_experiments(case, budget, budget_is_default) as fitted:
        for position, module in enumerate(order, start=1):
            if outcomes and outcomes[-1].reason == STOPPED_REASON:
                outcomes.append(_stopped(module))
                continue
            if progress is not None:
                progress(module, position, len(modules))
            refusal = _refusal(module, fitted, fitted.budget or budget, case)
            _reserve_for(order[position:], fitted, case)
            outcomes.append(_timed_check(module, case, findings, fitted.replayer, refusal))
    outcomes = _in_catalogue_order(outcomes, order, modules)
    reported, dismissed = reported_and_dismissed(findings)
    return Diagnosis(causes=reported, outcomes=outcomes, dismissed=dismissed)


def reported_and_dismissed(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """The findings reported as causes and those dismissed, each ranked. Each finding's
    confidence first becomes how often such findings were right on the development cases
    (:func:`calibrate`). A finding its check reports (its own confidence at REPORT_THRESHOLD or
    more) is reported, at its calibrated confidence, whatever that is: calibration says how
    often such findings are right, not whether the check saw its cause (clip_small_dataset's
    overfitting, a steady rise 9 times the noise, was calibrated to 0.47, dismissed, and the run
    called healthy). It is dismissed only when ranking it as another's measured consequence
    takes its confidence below (MEASURED_CONSEQUENCE_CONFIDENCE), saying which findings explain
    it (a consequence only declared is shown under its root whatever its confidence), and the
    others are ranked again from their calibrated confidences without it (nothing reported is
    left the consequence of a dismissed finding)."""
    calibrate(findings)
    reported = [f for f in findings if _check_reports(f)]
    dismissed = rank([f for f in findings if not _check_reports(f)])
    own = {id(f): f.confidence for f in reported}  # calibrated, before any consequence cap
    while True:
        for finding in reported:
            finding.confidence = own[id(finding)]
        ranked = rank(reported)
        reported = [f for f in ranked if _reported(f, ranked)]
        if len(reported) == len(ranked):
            return ranked, dismissed
        dismissed += [f for f in ranked if not _reported(f, ranked)]


def _check_reports(finding: Finding) -> bool:
    """The check reported it: its own confidence, before calibration, at REPORT_THRESHOLD."""
    return _own_confidence(finding) >= REPORT_THRESHOLD


def _reported(finding: Finding, ranked: list[Finding]) -> bool:
    """Among the findings the checks report: at REPORT_THRESHOLD or more; below it, a root (its
    check reported it; calibration only lowered it), or a consequence its root declares (no
    measured one): it is shown under its root, at the rate such consequences were right on dev
    (DECLARED_CONSEQUENCE_CONFIDENCE), for what the root brings with it."""
    return finding.confidence >= REPORT_THRESHOLD or not finding.explained_by or (
        not measured_roots(finding, ranked))


def calibrate(findings: list[Finding]) -> None:
    """Each finding's confidence replaced by how often findings of its cause and kind of
    evidence were right on the development cases (lossdoctor.calibration), once: the check's own
    is kept as ``own_confidence``."""
    for finding in findings:
        if finding.own_confidence is None:
            finding.own_confidence = finding.confidence
            finding.confidence = calibrated(finding)


def _in_order(modules: tuple[CheckModule, ...], symptom: str | None,
              setup_calls: frozenset[str]) -> list[CheckModule]:
    by_name = {module.name: module for module in modules}
    return [by_name[name] for name in budgets.in_order(list(by_name), symptom, setup_calls)]


def _setup_calls(case) -> frozenset[str]:
    """The checks of budget.WHEN_SETUP_CALLS whose setup this run has (plain SGD, strong
    regularization)."""
    if getattr(case, "copies", None) is None:
        return frozenset()
    has = _setup_flags(case)
    return frozenset(name for name, flag in budgets.WHEN_SETUP_CALLS.items() if has[flag])


def _setup_flags(case) -> dict[str, bool]:
    """The RunSize flags of budget.WHEN_SETUP_CALLS, read from the run's setup."""
    copies = case.copies
    return {"plain_sgd": plain_sgd(copies.optimizer_class, copies.optimizer_hparams),
            "regularized": _regularized(case)}


def _in_catalogue_order(outcomes: list[CheckOutcome], ran: list[CheckModule],
                        modules: tuple[CheckModule, ...]) -> list[CheckOutcome]:
    """``outcomes`` (one per module, in the order ``ran``) in the order of ``modules``."""
    by_module = {id(module): outcome for module, outcome in zip(ran, outcomes, strict=True)}
    return [by_module[id(module)] for module in modules]


class Fitted(NamedTuple):
    deadline: float | None  # time.monotonic() after which no experiment starts (None: no limit)
    step_seconds: float  # one training step of a copy of the user's model (0: not measured)
    fraction: float  # the factor every replay's steps are cut by
    replayer: object = None  # the case's Replayer when experiments can run on it
    budget: float | None = None  # the budget in force (a default one fitted to the step time)


@contextmanager
def _fitted_experiments(case, budget: float | None, budget_is_default: bool):
    """While the checks run: the experiments on copies sized from the measured step time and
    ended at the deadline; it yields the deadline (None: no limit), the step time and the
    factor the experiments were cut by. Afterwards (for whatever reads the
    case next) neither."""
    started = time.monotonic()
    deadline = started + budget if budget and math.isfinite(budget) else None
    replayer = _ready_replayer(case) if deadline is not None else None
    fraction, step_seconds = 1.0, 0.0
    if replayer is not None:
        step_seconds = _step_seconds(replayer)
        if budget_is_default:
            budget = budgets.fitted_default(budget, step_seconds)
            deadline = started + budget
        fraction = budgets.step_fraction(budget, step_seconds)
    if not budgets.enforced(budget_is_default, fraction):
        deadline = None
    if replayer is not None:
        replayer.step_fraction, replayer.deadline, replayer.budget = fraction, deadline, budget
    try:
        yield Fitted(deadline, step_seconds, fraction, replayer, budget)
    finally:
        if replayer is not None:
            _note_cut(case, replayer, budget, step_seconds)
            replayer.deadline, replayer.budget, replayer.step_fraction = None, None, 1.0
            replayer.reserved = 0.0


def _note_cut(case, replayer, budget: float | None, step_seconds: float) -> None:
    """The report's note on replays cut for the budget (budget.cut_note), once."""
    note = budgets.cut_note(replayer.cut, budget, step_seconds)
    trace = getattr(case, "trace", None)
    if note is not None and trace is not None and note not in trace.notes:
        trace.notes.append(note)
    replayer.cut = []


def _step_seconds(replayer) -> float:
    """One training step's seconds; 0 (unknown) when the step fails: it then fails in the
    checks that need it, which say so."""
    try:
        return replayer.step_seconds()
    except Exception:  # noqa: BLE001
        return 0.0


def _ready_replayer(case):
    """The case's replayer when experiments can run on it, else None."""
    if not getattr(case, "experiments", False) or not hasattr(case, "require_replay"):
        return None
    try:
        replayer = case.require_replay()
    except Skip:
        return None
    return replayer if replayer.ready else None
