import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks.bad_init import BAD_INIT, FAR, check, default_init
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


def _case(std=None, epochs=4):
    torch.manual_seed(0)
    x = torch.randn(1000, 8)
    y = (x[:, 0] + 0.8 * x[:, 1] - 0.5 * x[:, 2] * x[:, 3] > 0.3).long()
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    if std is not None:
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=std)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=epochs)


def test_weights_drawn_with_std_one_are_found_and_the_default_init_fixes_them():
    [finding] = check(_case(std=1.0))
    assert finding.cause is BAD_INIT
    assert finding.evidence["initial_loss"] > FAR * finding.evidence["default_init_loss"]
    assert finding.evidence["largest_initial_output"] > 10 * finding.evidence[
        "largest_default_init_output"]
    assert finding.experiment.after < 0.7 * finding.experiment.before


def test_the_default_init_is_quiet():
    assert check(_case()) == []


def test_default_init_resets_a_copy_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = mlp(4, 8, 2)
    nn.init.constant_(model[0].weight, 5.0)
    fresh = default_init(model)
    assert torch.all(model[0].weight == 5.0)
    assert fresh[0].weight.abs().max() < 1.0


def test_skips_without_a_replay():
    with pytest.raises(Skip):
        check(Case(Trace(), Copies()))
