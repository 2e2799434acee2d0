import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks import no_signal
from lossdoctor.checks.nan_inf import NAN_INF, bad_data, check
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


def _regression(rows=600, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    return x, (x[:, 0] - 0.5 * x[:, 3]).unsqueeze(1)


def _case(x, y, lr=1e-2, epochs=4, loss_fn=None):
    torch.manual_seed(0)
    model = mlp(x.shape[1], 16, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, loss_fn or nn.MSELoss(), (x[:500], y[:500]),
                  (x[500:], y[500:]), epochs=epochs)


def test_nan_in_one_input_column_is_found_with_its_rows_and_dropping_them_fixes_training():
    x, y = _regression()
    x[::50, 2] = float("nan")  # 12 rows: 10 training, 2 validation
    [finding] = check(_case(x, y))
    assert finding.cause is NAN_INF and finding.confidence >= 0.9
    assert finding.evidence["nonfinite_rows_in_training_inputs"] == 10
    assert finding.evidence["nonfinite_rows_in_validation_inputs"] == 2
    assert finding.evidence["nonfinite_loss_fraction"] > 0.5
    assert "(column 2)" in finding.verdict
    assert finding.experiment.after < 0.1
    assert finding.details["bad_data"][0]["nans"] == 10


def test_infinite_targets_are_found_as_targets():
    x, y = _regression()
    y[7] = float("inf")
    [finding] = check(_case(x, y))
    assert finding.evidence["nonfinite_rows_in_training_targets"] == 1
    assert "training targets hold infinite values in 1 of 500" in finding.verdict


def test_a_loss_that_turns_nan_in_training_is_reported_with_its_first_step():
    x, y = _regression()
    torch.manual_seed(0)
    model = mlp(6, 16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)  # overflows to inf, then NaN
    case = record(fit, model, optimizer, nn.MSELoss(), (x[:500], y[:500]), (x[500:], y[500:]),
                  epochs=2)
    assert bad_data(case.copies) == []
    [finding] = check(case)
    assert finding.confidence == pytest.approx(0.6)
    assert finding.evidence["first_nonfinite_loss_step"] > 0
    assert finding.evidence["nonfinite_loss_fraction"] > 0.5
    assert "holds no NaN or inf" in finding.verdict


def test_a_healthy_run_is_not_flagged():
    x, y = _regression()
    assert check(_case(x, y)) == []


def test_without_losses_or_batches_the_check_skips():
    with pytest.raises(Skip, match="needs training losses or captured batches"):
        check(Case(Trace(), Copies()))


def test_checks_that_fit_on_the_targets_skip_infinite_ones_instead_of_failing():
    """log(0) targets: nan_inf names them; the checks that fit models on the table skip."""
    x, y = _regression()
    y[::40] = float("-inf")
    case = _case(x, y)
    assert check(case)[0].cause is NAN_INF
    with pytest.raises(Skip, match="finite targets"):
        no_signal.check(case)
