"""Case.shared: a result several checks use is computed once; a Skip is met again, not kept."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks import _contest, data_pipeline, no_signal
from lossdoctor.checks._tabular import task_of
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


def test_a_shared_result_is_computed_once_per_case():
    calls = []
    case, other = Case(Trace(), Copies()), Case(Trace(), Copies())
    for _ in range(3):
        assert case.shared("answer", lambda: calls.append(1) or len(calls)) == 1
    assert other.shared("answer", lambda: calls.append(1) or len(calls)) == 2


def test_a_skip_is_not_kept():
    case = Case(Trace(), Copies())

    def missing():
        raise Skip("needs something")

    with pytest.raises(Skip):
        case.shared("thing", missing)
    assert case.shared("thing", lambda: 42) == 42


def test_no_signal_and_data_pipeline_read_one_contest(monkeypatch):
    torch.manual_seed(0)
    x, y = torch.randn(400, 5), torch.randint(0, 2, (400,))
    model = mlp(5, 16, 2)
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-3),
                  nn.CrossEntropyLoss(), (x[:300], y[:300]), (x[300:], y[300:]), epochs=3)
    fits = []
    real = _contest.contest
    monkeypatch.setattr(_contest, "contest", lambda *args: fits.append(1) or real(*args))
    task = task_of(case.trace.setup.loss_name)
    first = _contest.validation_contest(case, task)
    no_signal.check(case)
    data_pipeline.check(case)
    assert _contest.validation_contest(case, task) is first
    assert fits == [1]
