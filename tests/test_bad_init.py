import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks._reinit import never_below_start
from lossdoctor.checks.bad_init import (
    BAD_INIT,
    FAR,
    _identical_units,
    check,
    default_init,
    undone_at_once,
)
from lossdoctor.experiments import ReplayResult
from lossdoctor.findings import Skip
from lossdoctor.measured_consequences import NEVER_BELOW_START
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


def _replay(validation):
    return ReplayResult([], validation, validation_steps=[30 * (i + 1) for i in
                                                          range(len(validation))])


def test_a_start_caught_up_with_by_the_first_evaluation_was_undone_at_once():
    """Dev 30004's irnn_without_clipping twin: an identity-initialized ReLU RNN starts at 4.9
    against the default init's 1.02, is level with it 30 steps in, and only later trails it."""
    own = _replay([0.950, 1.325, 0.487, 0.311, 0.248, 0.203, 0.215, 0.202, 0.166, 0.166])
    default = _replay([0.952, 0.831, 0.259, 0.200, 0.174, 0.129, 0.126, 0.107, 0.107, 0.105])
    assert undone_at_once(own, default)


def test_a_start_undone_at_once_that_leaves_the_model_unable_to_learn_was_not():
    """Dev output_layer_scaled 312007 (head x300, SGD 0.01), full replays: below the default's
    replay at the first evaluation, then flat at 0.44 where the default reaches 0.08; main
    called it undone at once and reported nothing, and overfitting came first."""
    own = _replay([0.506, 0.428, 0.464, 0.443, 0.445, 0.436, 0.445, 0.443, 0.442, 0.442])
    default = _replay([0.608, 0.412, 0.22, 0.16, 0.124, 0.105, 0.096, 0.088, 0.084, 0.081])
    assert not undone_at_once(own, default)


def test_a_start_still_far_behind_at_the_first_evaluation_was_not():
    """Dev 30000's deep_relu_large_init: weights N(0, 0.5), 499 against 0.61 after 30 steps."""
    own = _replay([499.4, 110.5, 9.59, 7.09, 2.70, 1.42, 2.18, 0.765, 0.719, 0.717])
    default = _replay([0.613, 0.501, 0.862, 0.540, 0.640, 0.544, 0.444, 0.462, 0.445, 0.446])
    assert not undone_at_once(own, default)
    assert not undone_at_once(_replay([]), default)
    assert not undone_at_once(_replay([float("nan")]), default)


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


def _start_case(start, batchnorm=False):
    """An MLP on a nonlinear rule, its layers started by ``start`` (a function of the model)."""
    torch.manual_seed(0)
    x = torch.randn(1000, 8)
    y = (x[:, 0] * x[:, 1] + x[:, 2] - 0.5 * x[:, 3] ** 2 > -0.3).long()
    norm = [nn.BatchNorm1d(32)] if batchnorm else []
    model = nn.Sequential(nn.Linear(8, 32), *norm, nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 2))
    start(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=4)


def _constant(value):
    def start(model):
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.constant_(layer.weight, value)
                nn.init.zeros_(layer.bias)
    return start


def _constant_weights_only(value):
    """constant_init's start: nn.init.constant_ on the weights, the biases left as drawn."""
    def start(model):
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.constant_(layer.weight, value)
    return start


def _zero_scale(model):
    for layer in model:
        if isinstance(layer, nn.BatchNorm1d):
            nn.init.zeros_(layer.weight)


@pytest.mark.parametrize("start, batchnorm", [(_constant(0.1), False), (_constant(0.0), False),
                                              (_constant_weights_only(0.1), False),
                                              (_zero_scale, True)])
def test_a_start_with_identical_units_or_zero_scale_is_found(start, batchnorm):
    [finding] = check(_start_case(start, batchnorm))
    assert finding.cause is BAD_INIT
    assert finding.evidence["layers_stuck_at_init"] >= 1
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert "underfit_capacity" in BAD_INIT.explains


@pytest.mark.parametrize("batchnorm", [False, True])
def test_the_default_start_with_or_without_batchnorm_is_quiet(batchnorm):
    assert check(_start_case(lambda model: None, batchnorm)) == []


def test_a_transposed_convolution_has_a_unit_per_output_channel():
    """ConvTranspose2d keeps its weight as (in, out, ...) and its bias per output channel: its
    units are the weight's second dimension (a DispNet-style decoder, 32 -> 16 channels)."""
    layer = nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1)
    assert not _identical_units(layer)
    assert not _identical_units(nn.ConvTranspose2d(16, 1, 4))  # one unit is no copy of another
    with torch.no_grad():
        layer.weight.fill_(0.1)
        layer.bias.zero_()
    assert _identical_units(layer)


def _scaled_head_case(scale, seed=0):
    """An MLP with BatchNorm after each hidden layer, on small inputs (means of a few token
    embeddings are so), its output layer's weights scaled by ``scale``."""
    torch.manual_seed(seed)
    x = 0.05 * torch.randn(1000, 8)
    y = (x[:, 0] + 0.8 * x[:, 1] - x[:, 2] > 0).long()
    model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(),
                          nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))
    with torch.no_grad():
        model[-1].weight.mul_(scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=4)


def test_a_scaled_head_behind_batchnorm_is_measured_as_the_run_started_it():
    """In eval mode a BatchNorm at its initial running statistics (mean 0, variance 1) passes
    small activations on small: the scaled head's start looked near the default's (dev
    output_layer_scaled 312004: 3.5 against 1.09, unexplained; here under 3 times the default's
    loss, 16 times it in training mode); the run's first steps, in
    training mode, start far off. The default-initialized twin stays quiet."""
    [finding] = check(_scaled_head_case(40.0))
    assert finding.cause is BAD_INIT
    assert finding.evidence["initial_loss"] > FAR * finding.evidence["default_init_loss"]
    assert check(_scaled_head_case(1.0)) == []


def _run_with_validation(*losses):
    passes = [SimpleNamespace(epoch=i, step=10 * i, loss=loss) for i, loss in enumerate(losses)]
    trace = SimpleNamespace(validation_passes=lambda: passes, epoch_train_losses=lambda: [])
    return SimpleNamespace(trace=trace)


def test_a_run_never_clearly_below_the_default_start_is_held_at_its_start():
    """The default-initialized model starts at 0.69 (its replay before the first step): a run
    whose validation loss fell from 30 to 0.64 at best never got clearly below it (within a
    tenth); one that reached 0.45 did."""
    default = ReplayResult([0.7], [0.3], start_validation=0.69)
    assert never_below_start(_run_with_validation(30.0, 2.0, 0.64, 0.66), default) == {
        NEVER_BELOW_START: 1.0}
    assert never_below_start(_run_with_validation(30.0, 2.0, 0.45, 0.5), default) == {}
    assert never_below_start(_run_with_validation(30.0, 0.64), ReplayResult([0.7], [0.3])) == {}


def _deep_tanh_case(std=None, depth=12):
    """The generator's deep_tanh_tiny_init: a deep tanh stack with weights N(0, 0.05), on
    three rings (Adam at 2e-3, as dev 322020)."""
    torch.manual_seed(0)
    x = torch.randn(1000, 8)
    radius = x[:, 0] ** 2 + x[:, 1] ** 2
    y = (radius > 0.6).long() + (radius > 2.0).long()
    layers = [nn.Linear(8, 32), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(32, 32), nn.Tanh()]
    model = nn.Sequential(*layers, nn.Linear(32, 3))
    if std is not None:
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=std)
                nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=4)


def test_a_deep_stack_too_small_at_its_start_to_carry_its_inputs_is_found():
    """Its loss starts where the default init's does (both near the guess), so FAR cannot see
    it; its outputs barely vary over the rows, and the default init's replay learns."""
    [finding] = check(_deep_tanh_case(std=0.05))
    assert finding.cause is BAD_INIT
    assert finding.evidence["outputs_flat_at_start"] == 1.0
    assert finding.experiment.after < 0.8 * finding.experiment.before
    assert "about the same for every row" in finding.verdict


def test_a_deep_tanh_stack_at_the_default_init_is_quiet():
    assert check(_deep_tanh_case()) == []


def test_a_replayed_loss_without_a_prediction_leaves_the_output_spread_unknown():
    """A contrastive loss computed inside the model scores its outputs against each other: the
    replay has no prediction to read (corpus clip_small_dataset: AttributeError on None, which
    stopped bad_init on the broken run and its fixed twin)."""
    from lossdoctor.checks.bad_init import _output_spread

    no_prediction = SimpleNamespace(predict=lambda model, batch: None)
    assert math.isnan(_output_spread(no_prediction, nn.Linear(2, 2), [object(), object()]))
