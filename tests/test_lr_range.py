import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.lr_range import (
    DIVERGENCE_FACTOR,
    SAFETY_FACTOR,
    geometric,
    lr_range_test,
    smoothed,
)


class RecordingSGD(torch.optim.SGD):
    """SGD that remembers the settings each instance was built with."""

    built: list[dict] = []

    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False):
        RecordingSGD.built.append({"lr": lr, "momentum": momentum, "nesterov": nesterov})
        super().__init__(params, lr=lr, momentum=momentum, nesterov=nesterov)


def learnable_case(optimizer_class=torch.optim.Adam, lr=1e-3, **hparams):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=generator)
    y = (x @ torch.randn(8, generator=generator) > 0).long()
    torch.manual_seed(0)
    model = mlp(8, 16, 2)
    optimizer = optimizer_class(model.parameters(), lr=lr, **hparams)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:200], y[:200]),
                  (x[200:], y[200:]), epochs=2)


@pytest.fixture(scope="module")
def case():
    return learnable_case()


def test_the_loss_falls_then_blows_up_and_the_suggestion_sits_below_the_lowest_point(case):
    test = lr_range_test(case.replayer, 1e-5, 1e3, steps=100)
    assert test.drop > 0.3
    assert test.diverged and test.minimum_lr < test.divergence_lr
    assert test.suggested_lr == pytest.approx(test.minimum_lr / SAFETY_FACTOR)
    assert len(test.lrs) == len(test.losses) == len(test.raw_losses) < 100
    best = min(test.losses[:-1])
    assert test.losses[-1] > DIVERGENCE_FACTOR * best
    assert all(b > a for a, b in zip(test.lrs, test.lrs[1:], strict=False))


def test_runs_the_full_span_when_nothing_blows_up(case):
    test = lr_range_test(case.replayer, 1e-6, 1e-3, steps=40)
    assert not test.diverged and len(test.lrs) == 40
    assert test.lrs[-1] == pytest.approx(1e-3)


def test_is_reproducible_and_leaves_model_and_random_state_untouched(case):
    weights = {k: v.clone() for k, v in case.copies.initial_model.state_dict().items()}
    torch_state, python_state = torch.get_rng_state(), random.getstate()
    numpy_state = np.random.get_state()[1].copy()
    first = lr_range_test(case.replayer, 1e-5, 10, steps=50)
    second = lr_range_test(case.replayer, 1e-5, 10, steps=50)
    assert first.raw_losses == second.raw_losses
    for name, value in case.copies.initial_model.state_dict().items():
        assert torch.equal(value, weights[name])
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == python_state
    assert np.array_equal(np.random.get_state()[1], numpy_state)


def test_uses_the_users_optimizer_and_its_settings():
    case = learnable_case(RecordingSGD, lr=0.05, momentum=0.9, nesterov=True)
    RecordingSGD.built.clear()
    lr_range_test(case.replayer, 1e-4, 1.0, steps=10)
    assert len(RecordingSGD.built) == 1
    settings = RecordingSGD.built[0]
    assert settings["momentum"] == 0.9 and settings["nesterov"] is True
    assert settings["lr"] == pytest.approx(1e-4)


def test_smoothing_corrects_its_start_and_keeps_blow_ups():
    assert smoothed([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    curve = smoothed([1.0, math.nan, 1.0])
    assert curve[0] == 1.0 and math.isinf(curve[1]) and math.isinf(curve[2])


def test_learning_rates_grow_by_a_constant_factor():
    lrs = geometric(1e-3, 1e1, 5)
    assert lrs == pytest.approx([1e-3, 1e-2, 1e-1, 1.0, 10.0])
