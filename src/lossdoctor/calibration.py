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
#: fixed twins (always wrong). Measured by ``python bench/devset.py calibrate`` (session 16,
#: s16-calib) on 94 kept dev cases of three broad draws: session 13's (seeds 20200-20259 and
#: 20500-20579, 43 cases), session 15's (s15-fresh: 110004-110047 and 120001-120029, 23) and
#: this session's (``generate --n 120 --seed 170000 --part dev``, 28 kept cases diagnosed),
#: every report ranked again by this tree's diagnosis, so that what is a consequence of what and
#: each finding's evidence kind are as they now are (the older sessions' findings themselves are
#: their checks' of then). Fitted on all; fitted on either half of the seeds and scored on the
#: other, see docs/devset.md. Cells of one finding are kept: the prior (PRIOR_FINDINGS) weighs
#: them. Session 20 (s20-ranking) added the counts of one more broad draw (``generate --n 70
#: --seed 301400 --part dev``: the 16 of 23 kept cases whose scripts hold a ReLU or SGD,
#: diagnosed by that branch): 14 findings right of 19; wrong, lr_too_low twice (a twin, and a
#: second root beside class_imbalance), underfit_capacity twice (two twins) and data_pipeline
#: once (tiny_train_set).
MEASURED: dict[tuple[str, str], tuple[int, int]] = {
    ('bad_init', 'replayed fix'): (5, 5),
    ('class_imbalance', 'replayed fix'): (2, 2),
    ('data_pipeline', 'reading'): (2, 4),
    ('dead_relu', 'replayed fix'): (3, 3),
    ('exploding_gradients', 'replayed fix'): (1, 1),
    ('frozen_params', 'replayed fix'): (4, 4),
    ('label_range', 'reading'): (6, 6),
    ('loss_mismatch', 'reading'): (4, 4),
    ('lr_schedule', 'replayed fix'): (3, 3),
    ('lr_too_high', 'replayed fix'): (3, 3),
    ('lr_too_low', 'replayed fix'): (9, 14),
    ('missing_zero_grad', 'replayed fix'): (6, 6),
    ('nan_inf', 'reading'): (3, 5),
    ('nan_inf', 'replayed fix'): (3, 3),
    ('no_signal', 'reading'): (9, 10),
    ('over_regularized', 'replayed fix'): (3, 3),
    ('overfitting', 'reading'): (1, 4),
    ('overfitting', 'replayed fix'): (1, 1),
    ('saturated_activation', 'reading'): (2, 2),
    ('shape_broadcast', 'replayed fix'): (2, 2),
    ('train_val_shift', 'reading'): (4, 4),
    ('underfit_capacity', 'replayed fix'): (4, 6),
    ('unnormalized_inputs', 'replayed fix'): (4, 4),
    ('unscaled_targets', 'replayed fix'): (5, 5),
    ('vanishing_gradients', 'replayed fix'): (4, 4),
}

#: How many findings the check's own confidence weighs against a cell's measured count (a Beta
#: prior of that many findings at the check's own confidence): a cell needs as many findings of
#: its own to move halfway from what the check says to what it measured. Measured, not chosen
#: (``bench/devset.py calibrate``, session 16, the 94 cases above): by empirical Bayes, the
#: weight under which the cells' counts are likeliest (beta-binomial marginal likelihood, cells
#: drawn around their checks' own confidence) is 8, with 16 within 0.03 nats of it (4: 0.24
#: below, 64: 0.39 below); and fitted on one half of the seeds and scored on the other (the
#: Brier score of the held-out findings' confidence, both ways, averaged), 16 scores 0.0824, 32
#: and 64 0.0818-0.0819, 8 0.0840 and the weight of 4 used since session 13 0.0875. 16 is where
#: both criteria meet (the smallest weight within 0.001 of the held-out optimum: the counts move
#: a confidence as soon as the held-out cases allow). What it says: the checks' own confidence
#: predicts a finding's rightness better than a cell of a few findings does (a cell that is
#: right 9 times in 12 does not yet know more than the check's 0.9), so cells move confidences
#: only once they hold tens of findings. The prior is the check's own number, not the pooled
#: rate of its kind: the kinds pool checks unlike each other (a label_range reading of labels
#: coded 1/2 is certain, an overfitting reading of a curve is not).
PRIOR_FINDINGS = 16


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
