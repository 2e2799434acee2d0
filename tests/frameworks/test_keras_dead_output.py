"""Keras 3 (torch backend) regression whose output layer ends in a ReLU dead from the start
(scripts/keras_relu_output.py): every gradient is zero, so Adam's updates change nothing, and
each of them is still a training step. On 5d515c6 the run showed 0 steps (Keras' steps were
counted only by the values they changed), no gradient was sampled, and frozen_params said "no
optimizer step ran"; the output unit dead for every row is dead_relu. Its twin without the ReLU
(``--linear``, the same start) learns and is healthy: on 5d515c6 lr_schedule read a schedule into
it, from an SGD rule fitted to Adam's updates.

Opt-in like the other framework tests: `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import pytest
from test_frameworks import FRAMEWORKS, failed_checks, needs, top_cause, watched

pytestmark = pytest.mark.frameworks

KERAS = next(f for f in FRAMEWORKS if f.name == "keras")
#: 6 epochs of 40 batches.
STEPS = 240


def test_a_dead_output_relu_is_dead_relu_and_its_updates_are_steps():
    needs(KERAS)
    report = watched("keras_relu_output.py").report
    assert failed_checks(report) == {}
    assert report["steps"] == STEPS
    assert report["gradients"], "the steps' gradients are sampled"
    assert top_cause(report) == "dead_relu", report["causes"]
    assert "frozen_params" not in {c["id"] for c in report["causes"]}


def test_the_twin_without_the_output_relu_is_healthy():
    needs(KERAS)
    report = watched("keras_relu_output.py", "--linear").report
    assert failed_checks(report) == {}
    assert report["steps"] == STEPS
    assert report["setup"]["lr_schedule"] == [[0, 0.01]]
    assert report["status"] == "healthy", report["causes"]
