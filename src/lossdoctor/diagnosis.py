"""Run every check on a case, and rank what they find into a diagnosis."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from lossdoctor.checks import discover_checks
from lossdoctor.findings import Finding, Skip
from lossdoctor.sandbox import single_threaded

#: Below this confidence a finding is kept in the JSON but not reported as a cause.
REPORT_THRESHOLD = 0.5


@dataclass
class CheckOutcome:
    name: str
    status: str  # "ran", "skipped" or "error"
    reason: str = ""


@dataclass
class Diagnosis:
    causes: list[Finding]
    outcomes: list[CheckOutcome] = field(default_factory=list)
    dismissed: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.causes


def rank(findings: list[Finding]) -> list[Finding]:
    """Primary cause first. Findings that another finding explains (a consequence of it) follow
    the ones that explain them; then a cause that makes the others moot leads (a broken loss
    contract, then no_signal); then by confidence; ties by the stable id."""
    mark_consequences(findings)
    return sorted(
        findings,
        key=lambda f: (bool(f.explained_by), -f.cause.precedence, -f.confidence, f.cause.value),
    )


def mark_consequences(findings: list[Finding]) -> None:
    """Record on each finding which other findings explain it."""
    for finding in findings:
        finding.explained_by = [
            other.cause.value for other in findings
            if other.cause is not finding.cause and other.cause.explains(finding.cause)
        ]


def _run_check(name: str, check, case, findings: list[Finding]) -> CheckOutcome:
    try:
        findings.extend(check(case))
    except Skip as skip:
        return CheckOutcome(name, "skipped", str(skip))
    except Exception as error:  # noqa: BLE001 - a broken check must not hide the others
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return CheckOutcome(name, "error", detail)
    return CheckOutcome(name, "ran")


def diagnose(case, checks=None) -> Diagnosis:
    """Run each check on the case; a check that lacks its input or fails is recorded, not raised."""
    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    with single_threaded():
        for name, check in (checks or discover_checks()).items():
            outcomes.append(_run_check(name, check, case, findings))
    reported = [f for f in findings if f.confidence >= REPORT_THRESHOLD]
    dismissed = [f for f in findings if f.confidence < REPORT_THRESHOLD]
    return Diagnosis(causes=rank(reported), outcomes=outcomes, dismissed=rank(dismissed))
