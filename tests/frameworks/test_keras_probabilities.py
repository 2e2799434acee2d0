"""Keras 3 (torch backend) cross-entropies on class probabilities (scripts/keras_probs.py):
categorical_crossentropy and sparse_categorical_crossentropy with from_logits=False (Keras'
default) now have a loss kind, so a softmax output scored with from_logits=True (a second
softmax) and raw scores scored with from_logits=False (rows divided by their sum and clipped)
are loss_mismatch, the healthy twins stay healthy, and a run at ln 3 is read against the
constant guess (at_chance). On d056fab the softmax + from_logits=True runs were healthy, the
raw-score runs unexplained, and the l2(0.1) run had no constant guess (no symptom).

Opt-in like the other framework tests: `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import pytest
from test_frameworks import FRAMEWORKS, failed_checks, needs, top_cause, watched

pytestmark = pytest.mark.frameworks

KERAS = next(f for f in FRAMEWORKS if f.name == "keras")


@pytest.mark.parametrize("args", [("--logits-flag",), ("--no-softmax",),
                                  ("--loss", "sparse", "--no-softmax")])
def test_a_probability_loss_given_the_wrong_output_is_a_loss_mismatch(args):
    needs(KERAS)
    report = watched("keras_probs.py", *args).report
    assert failed_checks(report) == {}
    assert top_cause(report) == "loss_mismatch", report["causes"]


@pytest.mark.parametrize("args", [(), ("--loss", "sparse")])
def test_a_softmax_output_scored_as_probabilities_is_healthy(args):
    needs(KERAS)
    report = watched("keras_probs.py", *args).report
    assert failed_checks(report) == {}
    assert report["status"] == "healthy", report["causes"]


def test_a_one_hot_run_held_at_ln_3_is_at_chance():
    needs(KERAS)
    report = watched("keras_l2.py", "--l2", "0.1").report
    assert report["symptom"]["kind"] == "at_chance", report["symptom"]
    assert top_cause(report) == "over_regularized", report["causes"]
