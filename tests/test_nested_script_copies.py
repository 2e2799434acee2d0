"""TorchScript layers inside a plain nn.Module (fresh26 s05/s06: LSTMPLayer ScriptModules under
a FrameClassifier): the model's own deep copy copies them in C++, under no_grad, so their weights
came back as leaves that no longer required a gradient. Every replay then trained the output
layer alone: s05's replay at the user's SGD(0.5, momentum 0.9) stayed flat where the run blew up,
and s06's replays learned nothing where the run learned."""

import copy

import torch
from torch import nn

from lossdoctor.capture.model_copy import kept_copy


class _Cell(torch.jit.ScriptModule):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 4) * 0.3)

    @torch.jit.script_method
    def forward(self, x):
        return torch.tanh(torch.mm(x, self.weight.t()))


class _Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell, self.out = _Cell(), nn.Linear(8, 2)

    def forward(self, x):
        return self.out(self.cell(x))


def test_script_layers_inside_a_plain_module_are_trained_in_its_copies():
    torch.manual_seed(0)
    user = _Tagger()
    kept = kept_copy(user)
    again = copy.deepcopy(kept)
    for model in (kept, again):
        assert all(p.is_leaf and p.requires_grad for p in model.parameters())
        before = model.cell.weight.detach().clone()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        model(torch.randn(16, 4)).pow(2).mean().backward()
        optimizer.step()
        assert not torch.equal(model.cell.weight, before)  # the scripted layer learns
    assert all(p.grad is None for p in user.parameters())  # nothing reached the user's model


def test_a_frozen_script_layer_inside_a_plain_module_stays_frozen():
    user = _Tagger()
    user.cell.weight.requires_grad_(False)
    for model in (kept_copy(user), copy.deepcopy(kept_copy(user))):
        assert not model.cell.weight.requires_grad
        assert model.out.weight.requires_grad
