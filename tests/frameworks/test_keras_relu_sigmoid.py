"""Keras 3 (torch backend), two classes, a ReLU on the output unit before the sigmoid
(scripts/keras_relu_sigmoid.py): no probability can fall below 0.5, the accuracy is fine and
the loss stays above ln 2 / 2 on the negative class. With the sigmoid as a layer and
binary_crossentropy it was healthy on d056fab; with the sigmoid in the loss (from_logits=True)
it was already loss_mismatch. The twin without the ReLU is healthy.

Opt-in like the other framework tests: `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import pytest
from test_frameworks import FRAMEWORKS, failed_checks, needs, top_cause, watched

pytestmark = pytest.mark.frameworks

KERAS = next(f for f in FRAMEWORKS if f.name == "keras")


@pytest.mark.parametrize("args", [(), ("--in-loss",)])
def test_a_relu_before_the_sigmoid_is_a_loss_mismatch(args):
    needs(KERAS)
    report = watched("keras_relu_sigmoid.py", *args).report
    assert failed_checks(report) == {}
    assert top_cause(report) == "loss_mismatch", report["causes"]
    assert "below 0.5" in report["causes"][0]["verdict"]


def test_the_twin_without_the_relu_is_healthy():
    needs(KERAS)
    report = watched("keras_relu_sigmoid.py", "--fixed").report
    assert failed_checks(report) == {}
    assert report["status"] == "healthy", report["causes"]
