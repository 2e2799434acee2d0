"""lossdoctor's experiments on copies print no warning into the user's output."""

import warnings

import numpy as np
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.constant_guess import constant_guess_loss
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run


def _broadcasting_run() -> ScriptRun:
    """MSELoss between (N, 1) predictions and (N,) targets: PyTorch warns on every batch shape,
    and the user's script silenced that warning for its own training."""
    torch.manual_seed(0)
    x = torch.randn(96, 4)
    y = x[:, 0]
    model = mlp(4, 8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2), nn.MSELoss(),
                      (x[:64], y[:64]), (x[64:], y[64:]), epochs=3)
    return ScriptRun("train.py", 0, "", case.trace, case.copies)


def test_the_experiments_on_copies_warn_nothing_and_leave_the_filters_as_they_were():
    run = _broadcasting_run()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        filters = list(warnings.filters)
        diagnosis = diagnose_run(run, budget=20)
        assert warnings.filters == filters
    assert diagnosis is not None
    assert [str(w.message)[:60] for w in caught] == []


def test_a_constant_guess_on_infinite_targets_warns_nothing():
    targets = np.array([1.0, np.inf, 2.0])
    with np.errstate(all="warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert constant_guess_loss("mse_loss", {}, targets, targets) is None
    assert caught == []
