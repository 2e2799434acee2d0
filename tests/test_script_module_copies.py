"""TorchScript models (fresh26 s05/s06, an LSTM with projection written as a ScriptModule):
a deep copy of one made with gradients on has parameters an optimizer refuses ("can't optimize
a non-leaf Tensor"), so every replay failed and the checks that need one errored."""

import copy

import torch
from torch import nn

from conftest import record
from lossdoctor.capture.model_copy import kept_copy
from lossdoctor.checks.learning_rate import check as learning_rate_check


def _scripted():
    torch.manual_seed(0)
    return torch.jit.script(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)))


def _trained_once(model: nn.Module) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(8, 4)).pow(2).mean().backward()
    optimizer.step()


def test_a_kept_copy_of_a_script_module_and_its_own_copies_can_be_trained():
    user = _scripted()
    kept = kept_copy(user)
    again = copy.deepcopy(kept)
    for model in (kept, again):
        assert all(p.is_leaf and p.requires_grad for p in model.parameters())
        _trained_once(model)
    assert all(p.grad is None for p in user.parameters())  # nothing reached the user's model
    first = [next(m.parameters()) for m in (kept, user)]
    assert not torch.equal(*first)


def test_a_frozen_parameter_of_a_script_module_stays_frozen_in_its_copies():
    user = _scripted()
    next(user.parameters()).requires_grad_(False)
    kept = copy.deepcopy(kept_copy(user))
    assert [p.requires_grad for p in kept.parameters()] == [False, True, True, True]


def _regression(model, epochs=6, lr=0.05):
    torch.manual_seed(1)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for start in range(0, 192, 32):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x[start:start + 32]), y[start:start + 32]).backward()
            optimizer.step()
        with torch.no_grad():
            nn.functional.mse_loss(model(x[192:]), y[192:])


def test_the_learning_rate_check_replays_a_script_module():
    case = record(_regression, _scripted())
    case.require_replay()
    findings = learning_rate_check(case)  # raised "can't optimize a non-leaf Tensor" before
    assert all(f.cause.id in ("lr_too_high", "lr_too_low") for f in findings)
