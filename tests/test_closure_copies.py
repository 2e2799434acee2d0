"""Copies of a model whose forward calls a function kept on it that closes over its modules
(minGPT's ``self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))``) call the copy's
modules, not the user's; the user's own deep copies are left as Python makes them."""

import copy

import torch
from torch import nn

from lossdoctor.capture.closure_copies import closures_follow_copies
from lossdoctor.capture.model_copy import kept_copy


class LambdaBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(4, 8), c_proj=nn.Linear(8, 4)))
        m = self.mlp
        self.mlpf = lambda x: m.c_proj(torch.relu(m.c_fc(x)))

    def forward(self, x):
        return self.mlpf(x)


def _trained_once(model):
    model(torch.randn(5, 4)).pow(2).sum().backward()


def test_a_kept_copy_trains_its_own_modules_and_leaves_the_users_untouched():
    user = LambdaBlock()
    kept = kept_copy(user)
    _trained_once(kept)
    assert user.mlp.c_fc.weight.grad is None
    assert kept.mlp.c_fc.weight.grad is not None


def test_a_copy_of_a_kept_copy_made_by_lossdoctor_calls_its_own_modules():
    kept = kept_copy(LambdaBlock())
    with closures_follow_copies():
        replayed = copy.deepcopy(kept)
    _trained_once(replayed)
    assert kept.mlp.c_fc.weight.grad is None
    assert replayed.mlp.c_fc.weight.grad is not None
    assert replayed.mlp.c_fc is not kept.mlp.c_fc


def test_the_users_own_deep_copies_are_made_as_python_makes_them():
    user = LambdaBlock()
    with closures_follow_copies():
        pass
    theirs = copy.deepcopy(user)
    assert theirs.mlpf is user.mlpf


def test_a_function_closing_over_no_module_is_kept_as_it_is():
    scale = 3.0

    def scaled(x):
        return x * scale

    model = nn.Linear(2, 2)
    model.scaled = scaled
    with closures_follow_copies():
        copied = copy.deepcopy(model)
    assert copied.scaled is scaled
