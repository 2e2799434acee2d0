"""Confidence is how often findings like it were right on the development cases
(lossdoctor.calibration), and the ranking reads it."""

from dataclasses import replace
from unittest import mock

import pytest

from lossdoctor import calibration
from lossdoctor.calibration import PRIOR_FINDINGS, READING, REPLAYED_FIX, evidence_kind, rate
from lossdoctor.checks.learning_rate import LR_TOO_HIGH
from lossdoctor.checks.no_signal import NO_SIGNAL
from lossdoctor.checks.overfitting import OVERFITTING
from lossdoctor.diagnosis import REPORT_THRESHOLD, reported_and_dismissed
from lossdoctor.findings import Experiment, Finding
from lossdoctor.report.document import finding_dict

#: A made table: lr_too_high with a replayed fix right 9 times in 10; read from the records,
#: overfitting right once in 6 and no_signal 5 times in 6 (the kind's pooled rate: 6 in 12).
TABLE = {("lr_too_high", REPLAYED_FIX): (9, 10), ("overfitting", READING): (1, 6),
         ("no_signal", READING): (5, 6)}


@pytest.fixture
def table():
    with mock.patch.dict(calibration.MEASURED, TABLE, clear=True):
        yield


def _read(cause, confidence):
    return Finding(cause, confidence, verdict="v", evidence={})


def _replayed(cause, confidence):
    """A finding whose replayed fix took a third off the validation loss."""
    return Finding(cause, confidence, verdict="v", evidence={},
                   experiment=Experiment("a fix", 0.6, 0.4, 300))


def test_the_kind_of_evidence_is_a_replayed_fix_only_when_it_took_the_loss_down():
    assert evidence_kind(_replayed(LR_TOO_HIGH, 0.9)) == REPLAYED_FIX
    assert evidence_kind(_read(LR_TOO_HIGH, 0.9)) == READING
    unhelpful = Finding(LR_TOO_HIGH, 0.9, verdict="v", evidence={},
                        experiment=Experiment("a fix", 0.6, 0.59, 300))
    assert evidence_kind(unhelpful) == READING


def test_a_finding_is_reported_at_its_cells_rate_shrunk_towards_its_kinds(table):
    reported, _ = reported_and_dismissed([_replayed(LR_TOO_HIGH, 0.62)])
    # 9 of 10, with PRIOR_FINDINGS (4) findings at the kind's pooled 9 of 10
    assert reported[0].confidence == pytest.approx(0.9)
    assert reported[0].own_confidence == 0.62
    no_signal = _read(NO_SIGNAL, 0.9)
    reported_and_dismissed([no_signal])
    assert no_signal.confidence == pytest.approx((5 + PRIOR_FINDINGS * 0.5) / (6 + PRIOR_FINDINGS))


def test_a_cause_never_measured_gets_its_kinds_pooled_rate(table):
    assert rate("dead_relu", READING) == pytest.approx(0.5)
    assert rate("dead_relu", REPLAYED_FIX) == pytest.approx(0.9)


def test_a_kind_never_measured_keeps_the_checks_own_confidence():
    with mock.patch.dict(calibration.MEASURED, {}, clear=True):
        reported, _ = reported_and_dismissed([_read(OVERFITTING, 0.77)])
    assert reported[0].confidence == 0.77


def test_a_kind_of_finding_rarely_right_on_dev_is_dismissed_whatever_its_check_said(table):
    """overfitting read from the curves, right once in 6: (1 + 4 x 0.5) / 10 = 0.3."""
    reported, dismissed = reported_and_dismissed([_read(OVERFITTING, 0.95)])
    assert reported == [] and dismissed[0].confidence == pytest.approx(0.3)
    assert dismissed[0].confidence < REPORT_THRESHOLD
    assert dismissed[0].own_confidence == 0.95


def test_a_finding_its_check_declined_keeps_its_own_confidence(table):
    _, dismissed = reported_and_dismissed([_replayed(LR_TOO_HIGH, 0.3)])
    assert dismissed[0].confidence == 0.3


def test_the_ranking_reads_the_calibrated_confidence(table):
    """The check said 0.97 for no_signal, 0.62 for lr_too_high; on dev the first kind was right
    0.7 of the time, the second 0.9 (no_signal's precedence set aside: it leads otherwise)."""
    signal = Finding(replace(NO_SIGNAL, precedence=0), 0.97, verdict="v", evidence={})
    ranked, _ = reported_and_dismissed([signal, _replayed(LR_TOO_HIGH, 0.62)])
    assert [f.cause.id for f in ranked] == ["lr_too_high", "no_signal"]


def test_findings_of_equal_calibrated_confidence_rank_by_their_checks_own():
    equal = {("overfitting", READING): (4, 6), ("lr_too_high", READING): (4, 6)}
    with mock.patch.dict(calibration.MEASURED, equal, clear=True):
        ranked, _ = reported_and_dismissed([_read(OVERFITTING, 0.6), _read(LR_TOO_HIGH, 0.9)])
    assert [f.cause.id for f in ranked] == ["lr_too_high", "overfitting"]
    assert ranked[0].confidence == ranked[1].confidence


def test_calibrating_twice_changes_nothing(table):
    found = [_replayed(LR_TOO_HIGH, 0.62)]
    reported_and_dismissed(found)
    reported, _ = reported_and_dismissed(found)
    assert reported[0].confidence == pytest.approx(0.9) and reported[0].own_confidence == 0.62


def test_the_report_keeps_the_checks_own_confidence(table):
    reported, _ = reported_and_dismissed([_replayed(LR_TOO_HIGH, 0.62)])
    saved = finding_dict(reported[0])
    assert saved["confidence"] == 0.9 and saved["own_confidence"] == 0.62
