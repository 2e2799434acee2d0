import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks.unscaled_targets import UNSCALED_TARGETS, check
from lossdoctor.findings import Skip


def _regression(rows=800, scale=1.0, offset=0.0, seed=0):
    """Standard normal features; a smooth target, shifted and scaled as asked."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 4, generator=generator)
    y = x[:, :1] - 0.5 * x[:, 1:2] + torch.tanh(x[:, 2:3] * x[:, 3:4])
    return x, offset + scale * (y + 0.1 * torch.randn(rows, 1, generator=generator))


def _case(x, y, loss_fn=None, epochs=6, lr=1e-3):
    torch.manual_seed(0)
    model = mlp(4, 16, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return record(fit, model, optimizer, loss_fn or nn.MSELoss(), (x[:600], y[:600]),
                  (x[600:], y[600:]), epochs=epochs)


def test_prices_in_the_hundreds_of_thousands_are_found_and_standardizing_them_helps():
    x, y = _regression(scale=3e4, offset=2e5)
    [finding] = check(_case(x, y))
    assert finding.cause is UNSCALED_TARGETS
    assert finding.confidence >= 0.8
    assert finding.evidence["target_std"] > 1e4
    assert finding.experiment.after < 0.1 * finding.experiment.before
    assert finding.evidence["user_validation_loss"] > finding.evidence[
        "constant_guess_validation_loss"] * 0.5


def test_large_targets_under_l1_loss_are_found_too():
    x, y = _regression(scale=500.0, offset=1000.0)
    [finding] = check(_case(x, y, loss_fn=nn.L1Loss()))
    assert finding.confidence >= 0.8
    assert finding.experiment.after < 0.5 * finding.experiment.before


def test_modest_targets_are_left_alone():
    x, y = _regression()
    assert check(_case(x, y)) == []


def test_large_targets_a_model_has_learned_anyway_are_left_alone():
    x, y = _regression(scale=20.0)
    assert check(_case(x, y, epochs=15, lr=3e-2)) == []


def test_classification_is_not_its_business():
    x, y = _regression()
    torch.manual_seed(0)
    model = mlp(4, 8, 2)
    labels = (y[:, 0] > 0).long()
    case = record(fit, model, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
                  (x[:600], labels[:600]), (x[600:], labels[600:]), epochs=1)
    assert check(case) == []


def test_without_a_loss_to_replay_it_skips():
    x, y = _regression(scale=3e4, offset=2e5)
    case = _case(x, y, epochs=1)
    case.copies.loss_fn = None
    with pytest.raises(Skip):
        check(case)


def test_raw_inputs_come_before_raw_targets_when_both_are_found():
    """Inputs in the thousands and prices in the hundreds of thousands: standardize the inputs
    first (raw inputs are what hold the lr down), then the targets."""
    from lossdoctor.checks import unnormalized_inputs
    from lossdoctor.diagnosis import rank

    x, y = _regression(scale=3e4, offset=2e5)
    case = _case(x * 1000 + 5000, y)
    findings = rank(check(case) + unnormalized_inputs.check(case))
    ids = [f.cause.id for f in findings]
    assert "unscaled_targets" in ids and "unnormalized_inputs" in ids
    assert ids.index("unnormalized_inputs") < ids.index("unscaled_targets")
    assert findings[ids.index("unscaled_targets")].explained_by == ["unnormalized_inputs"]


def test_raw_targets_alone_lead_when_the_inputs_are_standardized():
    """The twin: the same targets on standardized inputs; nothing explains them away."""
    x, y = _regression(scale=3e4, offset=2e5)
    [finding] = check(_case(x, y))
    assert finding.explained_by == []
