import copy

import torch
from torch import nn

from conftest import record


def _train(model, evaluate_after_restoring: bool):
    torch.manual_seed(0)
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    first = copy.deepcopy(model.state_dict())
    for _ in range(5):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    trained = copy.deepcopy(model.state_dict())
    model.load_state_dict(first)
    if evaluate_after_restoring:
        with torch.no_grad():
            model(x)
    return trained, first


def _kept_and_expected(evaluate_after_restoring: bool):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    weights = {}

    def train(model):
        weights["trained"], weights["first"] = _train(model, evaluate_after_restoring)

    case = record(train, model)
    kept = case.copies.final_model.state_dict()
    return kept, weights


def test_weights_loaded_back_after_training_leave_the_trained_model_kept():
    kept, weights = _kept_and_expected(evaluate_after_restoring=False)
    assert torch.equal(kept["weight"], weights["trained"]["weight"])
    assert not torch.equal(kept["weight"], weights["first"]["weight"])


def test_a_restored_model_that_the_script_goes_on_using_is_the_one_kept():
    kept, weights = _kept_and_expected(evaluate_after_restoring=True)
    assert torch.equal(kept["weight"], weights["first"]["weight"])


def test_load_state_dict_is_the_users_own_after_the_run():
    torch.manual_seed(0)
    original = nn.Module.load_state_dict
    model = nn.Linear(4, 1)
    record(lambda m: _train(m, False), model)
    assert nn.Module.load_state_dict is original
    assert not model._load_state_dict_pre_hooks
    copy.deepcopy(model)
