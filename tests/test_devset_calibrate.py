"""bench/devset/calibrate.py: the numbers the confidence table is used with, measured on the
dev cases' saved reports (no lossdoctor run)."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from devset.calibrate import (  # noqa: E402
    consequence_rates,
    diagnosed,
    expected_calibration_error,
    measured,
    prior_strength,
    reranked,
    share_right,
    store,
)

from lossdoctor import calibration  # noqa: E402
from lossdoctor.measured_consequences import DECLARED_CONSEQUENCE_CONFIDENCE  # noqa: E402

#: The findings of the dev run calibration.MEASURED was fitted on (docs/devset.md, session 29),
#: as `run` saved them (broken.full.json, twin.full.json), trimmed to what calibrate reads.
STORED_RUN = REPO / "tests" / "data" / "calibration" / "dev_reports.json"


def _stored_cases() -> list[tuple[dict, dict, dict]]:
    cases = json.loads(STORED_RUN.read_text(encoding="utf-8"))
    return [(c["entry"], reranked(c["broken"]), reranked(c["twin"])) for c in cases]


def test_the_shipped_table_is_what_calibrate_measures_on_the_stored_dev_run():
    """MEASURED is the count `calibrate --fit all` prints for the stored reports, ranked by this
    tree's diagnosis with the shipped table: a ranking change (diagnosis, measured_consequences)
    that makes a counted finding a consequence or another's evidence kind, or a table edited by
    hand, fails here until the table is measured again."""
    assert measured(_stored_cases()) == calibration.SESSION_29


def test_the_declared_consequences_confidence_is_their_share_right_on_the_stored_run():
    declared, _ = consequence_rates(_stored_cases())
    assert round(share_right(*declared), 2) == DECLARED_CONSEQUENCE_CONFIDENCE


def _cell(right: int, n: int, own: float) -> list[tuple[bool, float]]:
    return [(i < right, own) for i in range(n)]


def test_cells_that_agree_with_their_checks_pick_a_heavy_prior():
    """Cells right about as often as their checks' own confidence say: the counts add nothing
    the checks did not say, the likeliest prior weighs many findings."""
    agree = {("a", "k"): _cell(9, 10, 0.9), ("b", "k"): _cell(6, 10, 0.6),
             ("c", "k"): _cell(3, 4, 0.75)}
    weight, likelihoods = prior_strength(agree)
    assert weight >= 16 and likelihoods[weight] == max(likelihoods.values())


def test_cells_far_from_their_checks_pick_a_light_prior():
    """Checks that say 0.9 where their cells are right 0 or 10 times in 10: the counts rule."""
    disagree = {("a", "k"): _cell(0, 10, 0.9), ("b", "k"): _cell(10, 10, 0.6),
                ("c", "k"): _cell(1, 10, 0.85)}
    weight, _ = prior_strength(disagree)
    assert weight <= 2


def _report(causes, dismissed=()):
    return {"causes": list(causes), "dismissed": list(dismissed)}


def _saved(cause, explained_by=(), confidence=0.9, own=None):
    return {"id": cause, "confidence": confidence, "own_confidence": own,
            "explained_by": list(explained_by)}


def test_consequences_are_counted_by_whether_their_cause_was_expected():
    entry = {"expected": ["bad_init", "saturated_activation"]}
    broken = _report([_saved("bad_init"), _saved("saturated_activation", ["bad_init"], 0.35),
                      _saved("nan_inf", ["bad_init"], 0.35)],
                     dismissed=[_saved("lr_too_low", ["bad_init"], 0.12, own=0.8),
                                _saved("overfitting", ["bad_init"], 0.3, own=0.3)])
    twin = _report([], dismissed=[_saved("lr_too_high", ["bad_init"], 0.12, own=0.7)])
    declared, dismissed = consequence_rates([(entry, broken, twin)])
    assert declared == (1, 2)
    assert dismissed == (0, 2)  # overfitting's check declined it (own 0.3): not counted



def test_a_pooled_share_right_is_never_zero_or_one():
    """Jeffreys' prior: 0 of 16 right is not a certainty that such findings are wrong."""
    assert 0 < share_right(0, 16) == pytest.approx(0.5 / 17)
    assert share_right(2, 26) == pytest.approx(2.5 / 27) and share_right(3, 3) < 1


def test_the_expected_calibration_error_weighs_each_bins_gap_by_its_findings():
    """Bin 0.9: 4 findings at 0.9, 2 right (gap 0.4); bin 0.5: 1 finding at 0.5, right (gap
    0.5): (4 * 0.4 + 1 * 0.5) / 5."""
    by_bin = {0.9: [(0.9, True), (0.9, True), (0.9, False), (0.9, False)], 0.5: [(0.5, True)]}
    assert expected_calibration_error(by_bin) == pytest.approx((4 * 0.4 + 0.5) / 5)
    assert expected_calibration_error({0.8: [(0.8, True)] * 4 + [(0.8, False)]}) == \
        pytest.approx(0.0)


def test_stored_reports_count_as_the_run_folders_they_were_written_from(tmp_path):
    """--store keeps what calibrate counts: one stored case written out as a run folder
    (manifest and full reports, with curves and keys calibrate does not read) and stored again
    gives the same findings and the same table."""
    case = json.loads(STORED_RUN.read_text(encoding="utf-8"))[0]
    folder = tmp_path / "run"
    (folder / "cases" / "one").mkdir(parents=True)
    entry = {**case["entry"], "folder": "cases/one", "kept": True, "part": "dev"}
    (folder / "manifest.json").write_text(json.dumps([entry]))
    for which in ("broken", "twin"):
        full = {**json.loads(json.dumps(case[which])), "checks": [], "curves": {}}
        for saved in full["causes"]:
            saved["title"] = "a title"
            if saved["experiment"]:
                saved["experiment"] = {**saved["experiment"], "curve_steps": [0, 1]}
        (folder / "cases" / "one" / f"{which}.full.json").write_text(json.dumps(full))
    again = tmp_path / "stored.json"
    assert store([folder], again) == 1
    assert json.loads(again.read_text())[0] == case
    from_folder = [(e, reranked(b), reranked(t)) for e, b, t in diagnosed(folder)]
    assert measured(from_folder) == measured(_stored_cases()[:1])
