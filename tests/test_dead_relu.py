from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import fit, mlp, nielsen_network, record, record_nielsen_run, recorded_nielsen
from lossdoctor.capture.sample import Batch
from lossdoctor.checks import dead_relu
from lossdoctor.checks._behind_fix import lags_its_fix
from lossdoctor.checks._dead_units import (
    BUILT_DEAD,
    BUILT_DEAD_EXCESS,
    MOST,
    DeadLayer,
    dead_layers,
)
from lossdoctor.checks._stuck_outputs import StuckOutputs, _against_the_run
from lossdoctor.checks._unclamped import without_last_relu
from lossdoctor.checks.dead_relu import (
    DEAD_RELU,
    KILLED_CONFIDENCE,
    check,
    more_dead_than_default,
    swap_relus,
)
from lossdoctor.checks.learning_rate import LR_TOO_HIGH
from lossdoctor.findings import Experiment, Skip


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


def _unit_square(rows, seed):
    """Features in [0, 1] (pixels, shares): weights drawn all negative leave most first-layer
    units below zero for every row; the label is a ring, which needs the units."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(rows, 8, generator=generator)
    return x, ((x[:, 0] - 0.5) ** 2 + (x[:, 1] - 0.5) ** 2 > 0.06).long()


def _negative_first_layer_run(scale):
    torch.manual_seed(0)
    model = _deep_mlp()
    if scale:
        nn.init.uniform_(model[0].weight, -scale, 0.0)
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), _unit_square(600, 0), _unit_square(200, 1), epochs=15)


def test_units_built_dead_by_negative_weights_are_found_by_a_replay_from_the_default_init():
    """Dev negative_weight_init 32006 (a CNN, its first layer 69% dead from step 0) learned
    through its live units, and LeakyReLU(0.1) did not revive the rest: called healthy. Here
    94% of the first layer is dead from step 0, the loss falls below the constant guess's
    through the other 6%, and the replay that tests the cause starts from the default init;
    the same model at its default init (the fixed twin) is quiet."""
    [finding] = check(_negative_first_layer_run(0.5))
    assert finding.evidence["first_dead_step"] == 0
    assert "re-initialized" in finding.experiment.description
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert "initialization" in finding.fix
    assert check(_negative_first_layer_run(0.0)) == []


def test_dead_functional_relus_are_found_and_replayed_as_leaky_relu():
    torch.manual_seed(0)
    model = FunctionalNet(bias=-3.0)
    [finding] = check(_case(model, torch.optim.Adam(model.parameters(), lr=1e-2)))
    assert finding.experiment is not None  # F.relu replayed as LeakyReLU
    assert finding.evidence["dead_fraction_late"] == 1.0
    assert finding.verdict.startswith("The output of torch.relu after hidden has 100%")


def test_units_alive_at_the_start_that_a_huge_learning_rate_killed_are_reported():
    """Issue 11: a classifier stuck at the constant guess with its ReLUs killed by the rate
    was reported as lr_too_high alone; LeakyReLU at the same rate diverges too, which kept
    dead_relu below the reporting bar. It is reported, ranked under the rate that killed it."""
    torch.manual_seed(0)
    model = _deep_mlp()
    case = _case(model, torch.optim.SGD(model.parameters(), lr=15.0))
    [killed] = [d for d in dead_layers(case.trace) if d.dead > MOST]
    assert killed.at_start < BUILT_DEAD and killed.killed_in_training
    [finding] = check(case)
    assert finding.confidence == KILLED_CONFIDENCE
    assert "alive at the start and training killed them" in finding.verdict
    assert finding.fix.startswith("Lower the learning rate")
    assert "dead_relu" in LR_TOO_HIGH.explains  # shown under lr_too_high when both are found


def _unrelated_labels(rows, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    return x, torch.randint(0, 2, (rows,), generator=generator)


def test_units_killed_on_labels_that_nothing_predicts_are_not_reported_as_a_cause():
    """Issue 11 (fresh27 s05): units killed while the loss sits at the constant guess, on
    labels that carry nothing, were reported at KILLED_CONFIDENCE beside no_signal, as if a
    step too large had killed them; the constant guess is the floor whatever the units do.
    The same rate on labels that depend on the inputs stays reported (the test above)."""
    torch.manual_seed(0)
    model = _deep_mlp()
    case = record(fit, model, torch.optim.SGD(model.parameters(), lr=15.0),
                  nn.CrossEntropyLoss(), _unrelated_labels(600, 0), _unrelated_labels(200, 1),
                  epochs=10)
    [killed] = [d for d in dead_layers(case.trace) if d.dead > MOST]
    assert killed.killed_in_training
    [finding] = check(case)
    assert finding.confidence < KILLED_CONFIDENCE
    assert "consequence of the labels" in finding.verdict


def test_a_layer_dead_from_the_first_step_was_not_killed_in_training():
    built = DeadLayer("1", dead=1.0, first_dead_step=0, units=8, least=0.9, at_start=0.9)
    assert built.built_dead and not built.killed_in_training
    alive = DeadLayer("1", dead=1.0, first_dead_step=40, units=8, least=0.0, at_start=0.0)
    assert alive.killed_in_training and not alive.built_dead


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


def test_every_layer_mostly_dead_is_named_not_only_the_worst():
    """dead_relu_bias: the text spoke of layer '1' alone while its figure drew two layers
    wholly dead."""
    from lossdoctor.checks.dead_relu import _others

    second = DeadLayer(layer="3", dead=1.0, units=32, first_dead_step=0)
    assert _others([second]) == (
        "Also dead: the ReLU layer '3' (100% of its 32 units through the second half).")
    assert _others([]) == ""
    # dead_relu_conv1d_negative_bias: '88%' beside a legend 'every unit dead at the end'
    mostly = DeadLayer(layer="1", dead=0.88, units=16, first_dead_step=0)
    assert _others([mostly]) == (
        "Also dead: the ReLU layer '1' (at least 88% of its 16 units through the second half).")


def _cross_entropy(logits, target):
    return -torch.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).mean()


def _plain_tensor_training(scale, relu, epochs=8):
    """A 2-hidden-layer MLP written as plain tensors (``relu(x @ w + b)`` in a loop) with a
    hand-written loss, as dev 30009 is: weights drawn ``scale(a, b)``. Returns a function that
    trains it."""
    x, y = _learnable(600, 0)
    val_x, val_y = _learnable(200, 1)
    sizes = [8, 32, 32, 2]
    weights = [scale(a, b).requires_grad_() for a, b in zip(sizes, sizes[1:], strict=False)]
    biases = [torch.zeros(b, requires_grad=True) for b in sizes[1:]]

    def model(rows):
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            rows = relu(rows @ w + b)
        return rows @ weights[-1] + biases[-1]

    def train():
        optimizer = torch.optim.Adam(weights + biases, lr=1e-3)
        loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        for _ in range(epochs):
            for rows, labels in loader:
                optimizer.zero_grad()
                _cross_entropy(model(rows), labels).backward()
                optimizer.step()
            with torch.no_grad():
                _cross_entropy(model(val_x), val_y).item()

    return train


def test_dead_relus_of_a_model_written_as_plain_tensors_are_found_and_named_by_their_line():
    """Dev 30009: weights drawn uniform in (-a, 0) kill every unit past the first layer. No
    module holds the model: the sampled steps are watched from step to backward, each ReLU
    named after the line that called it (one line for both layers, numbered)."""
    torch.manual_seed(0)
    case = record(_plain_tensor_training(lambda a, b: -torch.rand(a, b) * 0.2, torch.relu))
    layers = {d.layer: d for d in dead_layers(case.trace)}
    assert len(layers) == 2  # the loop's two calls are two layers, not one
    second = next(d for name, d in layers.items() if name.endswith(", call 2"))
    assert second.dead == 1.0 and second.built_dead
    assert second.layer.startswith("torch.relu at test_dead_relu.py:")
    [finding] = check(case)
    assert finding.evidence["dead_fraction_late"] == 1.0
    assert finding.experiment is not None  # the ReLU calls replayed as LeakyReLU
    assert finding.fix.startswith("Check the initialization")


def test_a_healthy_model_written_as_plain_tensors_is_not_flagged():
    """The twin, with He initialization; its ReLU written ``x.clamp(min=0)``."""
    torch.manual_seed(0)
    case = record(_plain_tensor_training(lambda a, b: torch.randn(a, b) * (2 / a) ** 0.5,
                                         lambda pre: pre.clamp(min=0)))
    layers = dead_layers(case.trace)
    assert len(layers) == 2 and max(d.dead for d in layers) < 0.5
    assert check(case) == []


def test_relu_function_calls_replay_as_leaky_relu_and_other_calls_unchanged():
    from lossdoctor.checks._function_swap import FunctionSwap
    from lossdoctor.checks.dead_relu import LEAK, LEAKY_FUNCTIONS

    x = torch.linspace(-2, 2, 9)
    with FunctionSwap(LEAKY_FUNCTIONS):
        leaky = [F.relu(x), torch.relu(x), x.clamp(min=0), x.clamp_min(0), x.clone().relu_()]
        unchanged = [x.clamp(min=-1), x.clamp(0, 1), F.relu6(x), torch.tanh(x)]
    for out in leaky:
        assert torch.equal(out, F.leaky_relu(x, LEAK))
    expected = [x.clamp(min=-1), x.clamp(0, 1), F.relu6(x), x.tanh()]
    for out, plain in zip(unchanged, expected, strict=True):
        assert torch.equal(out, plain)


def _all_negative_weights_run(scale):
    """negative_weight_init: every weight drawn uniform in (-scale, 0); 0 keeps the default."""
    torch.manual_seed(4)
    model = _deep_mlp()
    for layer in model[::2] if scale else ():
        nn.init.uniform_(layer.weight, -scale, 0.0)
    return record(fit, model, torch.optim.SGD(model.parameters(), lr=0.05),
                  nn.CrossEntropyLoss(), _learnable(600, 0), _learnable(200, 1), epochs=10)


def test_a_layer_built_less_than_mostly_dead_is_found_when_the_default_init_fixes_it():
    """Dev negative_weight_init 60008, 60010 (42-50% of the second layer dead for every row
    from step 0 on, the loss at the constant guess) were not suspected, below MOST: a layer
    this dead from the first step is tested by the replay from the default init."""
    case = _all_negative_weights_run(0.2)
    [second] = [d for d in dead_layers(case.trace) if d.layer == "3"]
    assert BUILT_DEAD < second.least <= MOST and second.built_dead
    [finding] = check(case)
    assert "re-initialized" in finding.experiment.description
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert finding.evidence["first_dead_step"] == 0
    assert check(_all_negative_weights_run(0.0)) == []


def _deep_default_run(seed=0):
    """Eight ReLU layers of 32 units at PyTorch's default init (deep_relu_large_init's fixed
    twin): the signal shrinks layer by layer, so the deepest layers see mostly their biases
    and about half their units are dead at the start."""
    torch.manual_seed(seed)
    layers, width = [], 8
    for _ in range(8):
        layers += [nn.Linear(width, 32), nn.ReLU()]
        width = 32
    model = nn.Sequential(*layers, nn.Linear(32, 2))
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=3e-4),
                  nn.CrossEntropyLoss(), _learnable(600, 0), _learnable(200, 1), epochs=6)


def test_a_deep_stack_at_the_default_init_is_not_built_dead(monkeypatch):
    """Dev twins 291004, 291005 (deep_relu_large_init fixed, default init): 0.54 of the
    deepest layer dead at step 0, above BUILT_DEAD; such a layer counted as built dead and was
    tested by a replay "from the default init", another draw of the twin's own init. It is
    no more dead than default-initialized copies, so nothing is built dead."""
    case = _deep_default_run()
    assert any(d.least > BUILT_DEAD and d.first_watched <= 1 for d in dead_layers(case.trace))
    assert not more_dead_than_default(case)
    monkeypatch.setattr(dead_relu, "_reinit_or", _never_called)
    assert check(case) == []


def _never_called(*args):
    raise AssertionError("a default-initialized model was tested as built dead")


def test_negative_weights_are_more_dead_than_the_default_init():
    """The broken side: weights drawn all negative leave 42-50% of a layer dead, far more than
    default-initialized copies of the model (BUILT_DEAD_EXCESS)."""
    assert more_dead_than_default(_all_negative_weights_run(0.2))


def test_a_deep_stack_as_dead_late_as_its_default_init_left_it_is_not_reported(monkeypatch):
    """Dev twin 301080 of deep_relu_large_init (seven ReLU layers, PyTorch's default init):
    its deepest layer was 0.48 dead at step 0 and at least 0.50 through the second half, a
    hair from MOST; a test-part twin crossed it, and a LeakyReLU replay, which helps a deep
    stack train whatever its units do, reported dead_relu. A layer dead late as the
    initialization left it (within BUILT_DEAD_EXCESS), where that initialization is no more
    dead than the default's, is not a suspect: the same layer, found so dead, is found when
    the model is built more dead than the default (negative weights: the tests above)."""
    case = _deep_default_run()
    deepest = DeadLayer("15", dead=0.53, first_dead_step=0, units=32, least=0.45,
                        first_watched=0, at_start=0.52)
    monkeypatch.setattr(dead_relu, "dead_layers", lambda trace: [deepest])
    monkeypatch.setattr(dead_relu, "_leaky_experiment",
                        lambda case, layers: Experiment("LeakyReLU(0.1)", 0.69, 0.3, 300))
    assert not more_dead_than_default(case)
    assert check(case) == []
    monkeypatch.setattr(dead_relu, "excess_over_default", lambda case: [BUILT_DEAD_EXCESS + 0.1])
    [finding] = check(case)
    assert finding.cause is DEAD_RELU


@pytest.mark.parametrize("symptom, reported", [(True, True), (False, False)])
def test_dead_units_on_a_run_whose_curves_show_no_symptom_are_advice(symptom, reported,
                                                                     monkeypatch):
    """Dead units that did not stop the run learning (its curves show no symptom: test12's
    fixed twin 710023) are kept dismissed, when the run does not lag the fix's replay at its
    own length (_behind_fix.lags_its_fix: this run does, and the next test reports it); the
    same reading on a run with a symptom stands."""
    monkeypatch.setattr(dead_relu, "lags_its_fix", lambda case, experiment: False)
    torch.manual_seed(0)
    model = _deep_mlp()
    for layer in (model[0], model[2]):
        nn.init.constant_(layer.bias, -3.0)
    case = _case(model, torch.optim.Adam(model.parameters(), lr=1e-2))
    case.curves_show_symptom = symptom
    [finding] = check(case)
    assert (finding.confidence >= 0.5) is reported


def test_dead_units_of_a_run_far_behind_its_fix_are_reported_though_its_curves_look_fine():
    """Dev negative_weight_init 361101 (a CNN of 8 channels, weights drawn negative): its
    validation loss still falling, 1.10 -> 0.80 in 120 steps, the curves show no symptom and
    the run was called healthy while its twin reached a third of that. A run that, at its own
    length, kept at most half of the gain the fix's replay got (_behind_fix.lags_its_fix) is
    reported, curves or not; on 5d515c6 this finding was held at ADVICE_CONFIDENCE."""
    torch.manual_seed(0)
    model = _deep_mlp()
    for layer in (model[0], model[2]):
        nn.init.constant_(layer.bias, -3.0)
    case = _case(model, torch.optim.Adam(model.parameters(), lr=1e-2))
    case.curves_show_symptom = False
    [finding] = check(case)
    assert finding.confidence >= 0.5
    assert lags_its_fix(case, finding.experiment)


def test_a_healthy_twin_whose_curves_look_fine_gets_no_dead_relu_finding():
    """The same network at PyTorch's default init, curves without a symptom: nothing."""
    torch.manual_seed(0)
    model = _deep_mlp()
    case = _case(model, torch.optim.Adam(model.parameters(), lr=1e-2))
    case.curves_show_symptom = False
    assert all(f.confidence < 0.5 for f in check(case))


def test_a_few_channels_dead_from_the_start_beyond_the_default_init_are_built_dead():
    """Dev 361101: 3 of 8 channels dead from step 0 (0.375, below BUILT_DEAD), none at the
    default init: built dead by their excess over the default (excess_at_start), not by the
    share alone; a layer no more dead than the default's is not."""
    layer = DeadLayer("1", dead=0.375, first_dead_step=0, units=8, least=0.375,
                      first_watched=0, at_start=0.375)
    assert not layer.built_dead
    assert replace(layer, excess_at_start=0.375).built_dead
    assert not replace(layer, excess_at_start=BUILT_DEAD_EXCESS).built_dead


def test_outputs_stuck_at_zero_behind_an_output_relu_are_found_and_freeing_them_helps():
    """Nielsen's network with every sigmoid a ReLU, the output's too: the right class's output
    of a third of the rows sits at 0, where the ReLU passes no gradient."""
    findings = dead_relu.check(recorded_nielsen(clamped=True))
    assert [f.cause for f in findings] == [DEAD_RELU]
    assert findings[0].evidence["stuck_loss_share"] > 0.5
    assert findings[0].experiment.after < 0.5 * findings[0].experiment.before
    assert "ReLU after the output layer" in findings[0].fix


def test_the_same_network_without_the_output_relu_gives_nothing_to_report():
    assert dead_relu.check(recorded_nielsen(clamped=False)) == []


def test_a_healthy_regression_of_positive_targets_behind_an_output_relu_is_left_alone():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(600, 5, generator=generator)
    y = (x @ torch.tensor([1.0, -0.5, 0.3, 0.0, 0.8])).abs().unsqueeze(1) + 1.0
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 1), nn.ReLU())
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2), nn.MSELoss(),
                  (x[:400], y[:400]), (x[400:], y[400:]))
    assert not any("stuck_loss_share" in f.evidence for f in dead_relu.check(case))


def test_every_output_stuck_without_a_replay_is_a_dead_model_not_a_clamp_finding():
    """Nielsen's ReLU network at lr 3.0 died whole at step 1: what killed it is the cause."""
    assert not StuckOutputs(1.0, 1.0, 1.0).telling
    assert StuckOutputs(0.3, 0.9, 0.3).telling
    assert StuckOutputs(1.0, 1.0, 1.0, Experiment("the ReLU taken out", 0.5, 0.1, 300)).telling


class _ClampedTakingItsTarget(nn.Module):
    """Given its target as well, as a model computing its own loss is (the corpus's CLIP twin,
    ``model(x, y)``): the clamp test must call it as the script did, not with its inputs."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(10, 1)

    def forward(self, x, target):
        prediction = torch.relu(self.net(x)).squeeze(1)
        return prediction, nn.functional.mse_loss(prediction, target)


def test_a_model_given_its_target_is_read_for_a_clamp_as_the_script_called_it():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 10, generator=generator)
    y = x[:, 0].abs() + 1.0

    def train():
        torch.manual_seed(0)
        model = _ClampedTakingItsTarget()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(10):
            for i in range(0, 150, 10):
                optimizer.zero_grad()
                model(x[i:i + 10], y[i:i + 10])[1].backward()
                optimizer.step()
            with torch.no_grad():
                model(x[150:], y[150:])

    case = record(train)
    assert not any("stuck_loss_share" in f.evidence for f in dead_relu.check(case))


class _ClampedInForward(nn.Module):
    """nielsen_network with its output ReLU written in the forward, as ``clamp`` says."""

    def __init__(self, clamp) -> None:
        super().__init__()
        self.net = nielsen_network(clamped=False)
        self.clamp = clamp

    def forward(self, x):
        return self.clamp(self.net(x))


@pytest.mark.parametrize("clamp", [torch.relu, F.relu, lambda z: z.clamp(min=0)],
                         ids=["torch.relu", "F.relu", "clamp"])
def test_an_output_relu_written_in_the_forward_is_taken_out_in_the_replay(clamp):
    """No module swap reaches a clamp computed in the forward: on ba096c2 the stuck outputs
    were reported unconfirmed (UNCONFIRMED_STUCK, no replay); the last ReLU call is taken out
    instead, and the replay shows the fix."""
    model = _ClampedInForward(clamp)
    case = record_nielsen_run(model)
    [finding] = dead_relu.check(case)
    assert finding.experiment is not None
    assert finding.experiment.after < 0.5 * finding.experiment.before
    assert finding.confidence == dead_relu.CONFIRMED_STUCK


def test_taking_out_the_last_relu_call_leaves_the_hidden_ones():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.ReLU())
    batch = Batch((torch.randn(16, 4),), {}, torch.zeros(16, 3), 16)

    def predict(m, b):
        return m(*b.args)

    unclamped = without_last_relu(model, batch, predict)
    with torch.no_grad():
        assert float(predict(unclamped, batch).min()) < 0
        assert torch.equal(predict(unclamped, batch), model[:3](batch.args[0]))
    assert without_last_relu(nn.Linear(4, 3), batch, predict) is None


class _RunOf:
    """What _against_the_run reads of a case: the run's validation passes, no constant guess."""

    def __init__(self, *losses):
        self.trace = SimpleNamespace(validation_passes=lambda: [SimpleNamespace(loss=v)
                                                                for v in losses])

    def constant_guess_loss(self, split):
        return None


def test_outputs_stuck_in_the_run_but_not_in_its_replay_are_judged_against_the_run():
    """Dev relu_after_output 355210: 78% of the outputs stuck in the run (validation 0.21),
    where the replay of the same setup did not get stuck (0.007) and the one without the ReLU
    reached 0.010: on ba096c2 no finding. The replay without the clamp is then compared with
    the run's own last validation loss, reported at UNCONFIRMED_STUCK."""
    replayed = Experiment("the ReLU after the output layer taken out", 0.0072, 0.0096, 300)
    stuck = StuckOutputs(0.78, 0.88, 0.78, replayed)
    _against_the_run(_RunOf(0.25, 0.207), stuck)
    assert (stuck.experiment.before, stuck.experiment.after) == (0.207, 0.0096)
    assert stuck.replay_unstuck == 0.0072
    assert "replay_validation_loss" in stuck.evidence


def test_a_run_no_worse_than_the_replays_keeps_the_replay_that_did_not_help():
    replayed = Experiment("the ReLU after the output layer taken out", 0.04, 0.041, 300)
    stuck = StuckOutputs(0.5, 0.9, 0.5, replayed)
    _against_the_run(_RunOf(0.042), stuck)
    assert stuck.experiment is replayed and stuck.replay_unstuck is None


class _ClampedTwiceWithItsLoss(nn.Module):
    """Dev relu_after_output 355243: ``return torch.relu(out), F.mse_loss(torch.relu(out),
    target)``, two ReLU calls on the same output; the last alone is the loss's."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 3)

    def forward(self, x, target):
        out = self.net(x)
        return torch.relu(out), F.mse_loss(torch.relu(out), target)


def test_every_relu_call_on_the_clamped_output_is_taken_out():
    batch = Batch((torch.randn(16, 4), torch.zeros(16, 3)), {}, torch.zeros(16, 3), 16)

    def predict(m, b):
        return m(*b.args)[0]

    unclamped = without_last_relu(_ClampedTwiceWithItsLoss(), batch, predict)
    with torch.no_grad():
        assert float(predict(unclamped, batch).min()) < 0


def test_stuck_outputs_a_replay_frees_are_reported_on_curves_without_a_symptom():
    """Dev relu_after_output 355307, 355315, 355327: runs that learn while a third or more of
    their outputs sit at 0 were held to ADVICE_CONFIDENCE (0.3 on ba096c2) and called healthy;
    a replay without the clamp that beats the replay of the setup is not advice."""
    case = recorded_nielsen(clamped=True)
    case.curves_show_symptom = False
    [finding] = dead_relu.check(case)
    assert finding.confidence == dead_relu.CONFIRMED_STUCK


def test_a_healthy_network_trained_long_on_few_rows_keeps_its_units_and_is_not_flagged():
    """The twin of a debugging subset left in (issue 11, session 32): a wide ReLU MLP trained
    many epochs on 40 rows memorizes them, but that leaves its units alive on those rows, and
    dead_relu has nothing to say about it (overfitting is the question there)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 2))
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=2e-3),
                  nn.CrossEntropyLoss(), _learnable(40, 0), _learnable(200, 1), epochs=20)
    assert case.trace.train_losses()[-1].value < 0.1  # it fits its few rows
    assert max(d.dead for d in dead_layers(case.trace)) < MOST
    assert check(case) == []
