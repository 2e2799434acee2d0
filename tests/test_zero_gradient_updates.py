"""A loop that updates by hand (``p -= lr * p.grad``) a model whose output ReLU is dead from the
start: every gradient is exactly zero, no update changes anything, and no step is counted (an
update that changes nothing cannot be told from none). training_loop said "no optimizer step
ran and no parameter was updated by hand ... the gradients are computed and never applied" on
5d515c6, which is false: they are applied, and they are zero. The same loop on a live model
that forgets its update is still a loop that never updates."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.checks.training_loop import ALL_ZERO_GRADIENTS, FROZEN_PARAMS, check
from lossdoctor.findings import Skip

STEPS = 40


def _train(model, update=True):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=generator)
    y = x.sum(1, keepdim=True) + 3
    for start in range(0, STEPS * 32, 32):
        rows = slice(start % 256, start % 256 + 32)
        model.zero_grad()
        F.mse_loss(model(x[rows]), y[rows]).backward()
        if update:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-0.01)


def _model(output_bias: float) -> nn.Module:
    torch.manual_seed(0)
    output = nn.Linear(8, 1)
    nn.init.constant_(output.bias, output_bias)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), output, nn.ReLU())


def test_updates_of_gradients_all_zero_are_not_called_never_applied():
    case = record(_train, _model(-100.0))
    assert case.trace.steps == 0
    with pytest.raises(Skip, match=ALL_ZERO_GRADIENTS):
        check(case)


def test_a_live_model_whose_update_was_forgotten_still_never_updates():
    case = record(_train, _model(1.0), update=False)
    [finding] = check(case)
    assert finding.cause is FROZEN_PARAMS
    assert "never applied" in finding.verdict
