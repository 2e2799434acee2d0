import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks.dead_relu import DEAD_RELU, check, dead_layers, swap_relus
from lossdoctor.findings import Skip


def _learnable(rows, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    return x, (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).long()


def _deep_mlp(hidden=32):
    return nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 2))


def _case(model, optimizer, epochs=10):
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), _learnable(600, 0),
                  _learnable(200, 1), epochs=epochs)


class FunctionalNet(nn.Module):
    def __init__(self, bias: float = 0.0) -> None:
        super().__init__()
        self.hidden = nn.Linear(8, 32)
        self.out = nn.Linear(32, 2)
        nn.init.constant_(self.hidden.bias, bias)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


def test_hidden_layers_killed_by_a_large_negative_bias_are_found_and_leaky_relu_helps():
    torch.manual_seed(0)
    model = _deep_mlp()
    for layer in (model[0], model[2]):
        nn.init.constant_(layer.bias, -3.0)
    [finding] = check(_case(model, torch.optim.Adam(model.parameters(), lr=1e-2)))
    assert finding.cause is DEAD_RELU
    assert finding.evidence["dead_fraction_late"] == 1.0
    assert finding.evidence["first_dead_step"] == 0
    assert finding.evidence["train_loss_end"] >= finding.evidence["constant_guess_loss"]
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert finding.confidence > 0.95  # the output cannot depend on the input
    assert finding.verdict.startswith("The ReLU layer '1' has 100% of its 32 units dead")
    assert finding.fix.startswith("Check the initialization and the bias")  # not the lr first


def _radial(rows, seed):
    """Three rings: no linear function of the inputs tells them apart."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    radius = x[:, 0] ** 2 + x[:, 1] ** 2
    return x, (radius > 0.6).long() + (radius > 2.0).long()


def test_a_layer_dead_from_its_initialization_is_found_though_leaky_relu_cannot_revive_it():
    """Dev 09190: a hidden layer built dead (bias -7.1), AdamW at 2e-3, a nonlinear task.
    LeakyReLU(0.1) leaves a linear model there and cannot pull a bias of -7 back within a
    replay, but no learning rate killed these units: they were dead before the first update."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 3))
    nn.init.constant_(model[0].bias, -7.1)
    case = record(fit, model, torch.optim.AdamW(model.parameters(), lr=2e-3),
                  nn.CrossEntropyLoss(), _radial(600, 0), _radial(200, 1), epochs=10)
    [finding] = check(case)
    assert finding.evidence["first_dead_step"] == 0
    assert finding.confidence >= 0.5


def test_dead_functional_relus_are_found_from_the_trace_alone():
    torch.manual_seed(0)
    model = FunctionalNet(bias=-3.0)
    [finding] = check(_case(model, torch.optim.Adam(model.parameters(), lr=1e-2)))
    assert finding.experiment is None  # F.relu cannot be swapped for another module
    assert finding.evidence["dead_fraction_late"] == 1.0
    assert finding.verdict.startswith("The output of torch.relu after hidden has 100%")


def test_units_killed_by_a_huge_learning_rate_are_a_symptom_kept_below_the_reporting_bar():
    torch.manual_seed(0)
    model = _deep_mlp()
    case = _case(model, torch.optim.SGD(model.parameters(), lr=15.0))
    assert max(d.dead for d in dead_layers(case.trace)) > 0.5
    [finding] = check(case)
    assert finding.confidence < 0.5
    assert "symptom" in finding.verdict
    if finding.evidence["first_dead_step"] > 0:  # killed by the updates: the rate comes first
        assert finding.fix.startswith("Lower the learning rate")


@pytest.mark.parametrize("make", [lambda: _deep_mlp(), lambda: FunctionalNet()],
                         ids=["module_relu", "functional_relu"])
def test_healthy_relu_networks_are_not_flagged(make):
    torch.manual_seed(0)
    model = make()
    case = _case(model, torch.optim.Adam(model.parameters(), lr=1e-2))
    assert max(d.dead for d in dead_layers(case.trace)) < 0.5
    assert check(case) == []


def test_swapping_relus_replaces_nested_modules_and_keeps_the_rest():
    model = nn.Sequential(_deep_mlp(), nn.Sequential(nn.ReLU(inplace=True)), nn.Tanh())
    assert swap_relus(model) == 3
    kinds = [type(m) for m in model.modules()]
    assert nn.ReLU not in kinds and kinds.count(nn.LeakyReLU) == 3 and nn.Tanh in kinds


def test_a_model_without_relus_is_skipped():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    case = _case(model, torch.optim.Adam(model.parameters()), epochs=1)
    with pytest.raises(Skip, match="ReLU"):
        check(case)


def test_a_plain_mlp_of_the_shared_helper_keeps_its_units_alive():
    torch.manual_seed(0)
    model = mlp(8, 16, 2)
    case = _case(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=5)
    assert check(case) == []


def test_a_wholly_dead_layer_is_not_said_to_leave_units_that_learn():
    from lossdoctor.checks._progress import TrainingProgress
    from lossdoctor.checks.dead_relu import _describe_loss

    moving = TrainingProgress(start=0.702, end=0.6, constant_guess=0.693)
    assert "few units left" not in _describe_loss(moving, whole_layer=True)
    assert "layers after the dead one alone" in _describe_loss(moving, whole_layer=True)
    assert "few units left" in _describe_loss(moving, whole_layer=False)


@pytest.mark.parametrize("fraction, said", [(0.9963, "over 99%"), (1.0, "100%"),
                                            (0.004, "under 1%"), (0.0, "0%"), (0.73, "73%")])
def test_a_share_is_100_percent_only_when_it_is_all(fraction, said):
    from lossdoctor.checks._plain import plain_share

    assert plain_share(fraction) == said
