"""Keras 3 (torch backend) with kernel_regularizer=l2(...) on every layer (scripts/keras_l2.py):
Keras adds the penalties to the compiled loss (``sum(stack([loss, *penalties]))``) and reads
each kernel through ``kernel.to(device)``, which hands the parameter back as it is.

On f88cc73 (bench/fresh29 s06) that loss could not be replayed ("KeyError:
'_functional._torch_params.sequential/conv1d/kernel'"): every replay-based check was skipped and
the l2(0.1) run, which ends at the constant guess (ln 3), was called healthy. Now the replays run
on Keras' own loss, the penalty is one over_regularized can take away, and the twin with a small
penalty, and the one without regularizers, stay healthy.

Opt-in like the other framework tests: `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import pytest
from test_frameworks import FRAMEWORKS, failed_checks, needs, top_cause, watched

pytestmark = pytest.mark.frameworks

KERAS = next(f for f in FRAMEWORKS if f.name == "keras")


def _not_replayed(report: dict) -> list[str]:
    return [c["name"] for c in report["checks"]
            if c["status"] == "skipped" and "could not replay" in c["reason"]]


def test_a_penalty_that_holds_every_layer_at_zero_is_over_regularization():
    needs(KERAS)
    report = watched("keras_l2.py", "--l2", "0.1").report
    assert failed_checks(report) == {}
    assert _not_replayed(report) == []
    assert report["status"] != "healthy"
    assert top_cause(report) == "over_regularized", report["causes"]


@pytest.mark.parametrize("factor", ["1e-4", "0"])
def test_a_small_penalty_or_none_is_healthy(factor):
    needs(KERAS)
    report = watched("keras_l2.py", "--l2", factor).report
    assert failed_checks(report) == {}
    assert _not_replayed(report) == []
    assert report["status"] == "healthy", report["causes"]
