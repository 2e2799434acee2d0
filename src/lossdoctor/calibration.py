"""The confidence a finding is reported at: how often findings like it were right on the
development cases (issue 11: a finding reported at confidence c is right about c of the time).

A check's own confidence is a formula of its evidence's strength (``0.6 + 0.35 * strength``),
never measured. What was measured, on the generated development cases (docs/devset.md), is how
often a check's finding named a cause in the case's expected set. Findings are told apart by
their cause and by the kind of their evidence (:func:`evidence_kind`, the kinds of
:mod:`lossdoctor.evidence_kinds`): a *replayed fix* that took the validation loss down
(``measured_consequences.fix_verified``), or a *reading* of the run's records (or a replay that
did not confirm a fix); a *shown* finding is counted by whether its fix was replayed. A
finding the check reports (its own confidence at least diagnosis.REPORT_THRESHOLD) is reported
at its cell's rate (:func:`calibrated`), shrunk towards the check's own confidence: a cell of
two findings says little on its own.

Consequences (a finding another explains) keep the caps of lossdoctor.measured_consequences,
measured the same way; they are applied after this."""

from __future__ import annotations

from lossdoctor.evidence_kinds import READING, REPLAYED_FIX
from lossdoctor.findings import Finding
from lossdoctor.measured_consequences import fix_verified

__all__ = ["READING", "REPLAYED_FIX", "calibrated", "evidence_kind", "rate"]

#: The least confidence a check reports a finding at (diagnosis.REPORT_THRESHOLD; repeated here,
#: which diagnosis imports this module): below it the check itself declined, and that is kept.
CHECK_REPORTS = 0.5

#: (cause id, evidence kind) -> (findings right, findings) on the development cases: every
#: finding a check reported as a cause of its own (not a consequence of another reported
#: finding), on broken scripts (right when its id is in the case's expected set) and on their
#: fixed twins (always wrong). Measured by ``python bench/devset.py calibrate`` (session 13,
#: s13-rank) on 43 kept dev cases: seeds 20200-20259 (generated in session 12, diagnosed again)
#: and 20500-20579 (``generate --n 80 --seed 20500 --part dev``). Fitted on the even seeds alone,
#: the odd ones (17 cases) held out: the same top-1 (11) and top-3 (12) there, and see
#: docs/devset.md for the bins. Cells of one finding are kept: the prior (PRIOR_FINDINGS)
#: weighs them.
MEASURED: dict[tuple[str, str], tuple[int, int]] = {
    ('bad_init', 'replayed fix'): (2, 2),
    ('class_imbalance', 'replayed fix'): (1, 1),
    ('dead_relu', 'reading'): (0, 1),
    ('dead_relu', 'replayed fix'): (0, 1),
    ('label_range', 'reading'): (3, 3),
    ('loss_mismatch', 'reading'): (1, 1),
    ('lr_schedule', 'replayed fix'): (1, 1),
    ('lr_too_high', 'replayed fix'): (2, 2),
    ('lr_too_low', 'replayed fix'): (4, 4),
    ('missing_zero_grad', 'replayed fix'): (2, 2),
    ('nan_inf', 'reading'): (1, 2),
    ('nan_inf', 'replayed fix'): (3, 3),
    ('no_signal', 'reading'): (3, 4),
    ('over_regularized', 'replayed fix'): (1, 1),
    ('overfitting', 'reading'): (1, 4),
    ('shape_broadcast', 'replayed fix'): (1, 1),
    ('train_val_shift', 'reading'): (1, 1),
    ('underfit_capacity', 'replayed fix'): (3, 3),
    ('unnormalized_inputs', 'replayed fix'): (3, 3),
    ('unscaled_targets', 'replayed fix'): (3, 3),
    ('vanishing_gradients', 'replayed fix'): (2, 2),
}

#: How many findings the check's own confidence weighs against a cell's measured count (a Beta
#: prior of that many findings at the check's own confidence): a cell needs about as many
#: findings of its own to move halfway from what the check says to what it measured. Most
#: cells hold 1-6 findings, and an unshrunk 2 of 2 would claim 1.0. The prior is the check's
#: own number, not the pooled rate of its kind: the kinds pool checks unlike each other (a
#: label_range reading of labels coded 1/2 is certain, an overfitting reading of a curve is
#: not), and on the dev cases the pooled reading rate (5 of 9) put every never-measured
#: reading (label_range, loss_mismatch, train_val_shift: 5 of 5 right) at 0.56.
PRIOR_FINDINGS = 4


def evidence_kind(finding: Finding) -> str:
    """REPLAYED_FIX when the finding carries a replayed fix that took the loss down, else
    READING."""
    return REPLAYED_FIX if fix_verified(finding) else READING


def rate(cause: str, kind: str, own: float) -> float:
    """How often a finding of ``cause`` with evidence of ``kind`` was right on dev, shrunk
    towards its check's ``own`` confidence by PRIOR_FINDINGS."""
    right, n = MEASURED.get((cause, kind), (0, 0))
    return (right + PRIOR_FINDINGS * own) / (n + PRIOR_FINDINGS)


def calibrated(finding: Finding) -> float:
    """The confidence ``finding`` is reported at: its cell's measured rate when its check
    reported it (own confidence at least CHECK_REPORTS), else its own (a check that declined)."""
    if finding.confidence < CHECK_REPORTS:
        return finding.confidence
    return rate(finding.cause.id, evidence_kind(finding), finding.confidence)
