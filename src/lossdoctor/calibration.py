"""The confidence a finding is reported at: how often findings like it were right on the
development cases (issue 11: a finding reported at confidence c is right about c of the time).

A check's own confidence is a formula of its evidence's strength (``0.6 + 0.35 * strength``),
never measured. What was measured, on the generated development cases (docs/devset.md), is how
often a check's finding named a cause in the case's expected set. Findings are told apart by
their cause and by the kind of their evidence (:func:`evidence_kind`): a *replayed fix* that took
the validation loss down (``measured_consequences.fix_verified``), or a *reading* of the run's
records (or a replay that did not confirm a fix). A finding the check reports (its own confidence
at least diagnosis.REPORT_THRESHOLD) is reported at its cell's rate (:func:`calibrated`), shrunk
towards the rate of every finding of its kind: a cell of two findings says little on its own.

Consequences (a finding another explains) keep the caps of lossdoctor.measured_consequences,
measured the same way; they are applied after this."""

from __future__ import annotations

from lossdoctor.findings import Finding
from lossdoctor.measured_consequences import fix_verified

#: The finding carries a replayed fix that took the validation loss down (fix_verified).
REPLAYED_FIX = "replayed fix"
#: The finding reads the run's records (curves, activations, data), or its replay did not
#: confirm the fix.
READING = "reading"

#: The least confidence a check reports a finding at (diagnosis.REPORT_THRESHOLD; repeated here,
#: which diagnosis imports this module): below it the check itself declined, and that is kept.
CHECK_REPORTS = 0.5

#: (cause id, evidence kind) -> (findings right, findings) on the development cases: every
#: finding a check reported as a cause of its own (not a consequence of another reported
#: finding), on broken scripts (right when its id is in the case's expected set) and on their
#: fixed twins (always wrong). Measured with ``python bench/devset.py calibrate`` on the even
#: seeds of the dev folders named in docs/devset.md (session 13, s13-rank); the odd seeds were
#: held out to check it.
MEASURED: dict[tuple[str, str], tuple[int, int]] = {}

#: How many findings a cell's own count weighs against its kind's pooled rate (a Beta prior of
#: that many findings at the pooled rate, the usual empirical-Bayes shrinkage): with 4, a cell
#: needs about as many findings of its own as it has to move halfway from the pooled rate. Most
#: cells hold 1-6 findings; an unshrunk 2 of 2 would claim 1.0.
PRIOR_FINDINGS = 4


def evidence_kind(finding: Finding) -> str:
    """REPLAYED_FIX when the finding carries a replayed fix that took the loss down, else
    READING."""
    return REPLAYED_FIX if fix_verified(finding) else READING


def pooled(kind: str) -> tuple[int, int]:
    """(right, findings) of every measured cell of ``kind``."""
    cells = [counts for (_, cell_kind), counts in MEASURED.items() if cell_kind == kind]
    return sum(right for right, _ in cells), sum(n for _, n in cells)


def rate(cause: str, kind: str) -> float | None:
    """How often a finding of ``cause`` with evidence of ``kind`` was right on dev, shrunk
    towards its kind's pooled rate by PRIOR_FINDINGS; None with nothing measured of the kind."""
    right_all, n_all = pooled(kind)
    if n_all == 0:
        return None
    right, n = MEASURED.get((cause, kind), (0, 0))
    return (right + PRIOR_FINDINGS * right_all / n_all) / (n + PRIOR_FINDINGS)


def calibrated(finding: Finding) -> float:
    """The confidence ``finding`` is reported at: its cell's measured rate when its check
    reported it (own confidence at least CHECK_REPORTS), else its own (a check that declined)."""
    if finding.confidence < CHECK_REPORTS:
        return finding.confidence
    measured = rate(finding.cause.id, evidence_kind(finding))
    return finding.confidence if measured is None else measured
