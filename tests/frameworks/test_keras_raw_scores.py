"""Keras 3 (torch backend) binary_crossentropy on a Dense(1) without activation
(scripts/keras_binary.py --raw): Keras clips the raw scores into [1e-7, 1 - 1e-7] before the
loss, which is a missing sigmoid (loss_mismatch), not a saturated one; and its twin with the
sigmoid is healthy. On ba096c2 both ended "incomplete": every replay failed on a target Keras
had expanded to (B, 1) and the replay expanded again to (B, 1, 1), the raw run got no
loss_mismatch, and its updates of all-zero gradients were not counted as steps.

Opt-in like the other framework tests: `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import pytest
from test_frameworks import FRAMEWORKS, failed_checks, needs, top_cause, watched

pytestmark = pytest.mark.frameworks

KERAS = next(f for f in FRAMEWORKS if f.name == "keras")


def test_raw_scores_clipped_by_keras_are_a_loss_mismatch():
    needs(KERAS)
    report = watched("keras_binary.py", "--raw").report
    assert failed_checks(report) == {}
    assert top_cause(report) == "loss_mismatch", report["causes"]
    assert "no sigmoid at the end" in report["causes"][0]["verdict"]
    assert "saturated_activation" not in {c["id"] for c in report["causes"]}
    # 6 epochs of 40 batches: an update of gradients that the clip made all zero is a step
    # too (ba096c2 counted 233)
    assert report["steps"] == 240


def test_the_sigmoid_twin_is_healthy():
    needs(KERAS)
    report = watched("keras_binary.py").report
    assert failed_checks(report) == {}
    assert report["status"] == "healthy", report["causes"]
