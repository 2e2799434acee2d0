"""A model that keeps tensors of its last forward pass as attributes (``self.out = ...``,
``self.reps = [...]``: MultiBench's fusion models, fresh30 s07) is copied with them detached;
``deepcopy`` refuses a tensor inside an autograd graph, and the run's records used to stop at
the first copy."""

import torch
from torch import nn

from conftest import fit, record
from lossdoctor.capture.model_copy import kept_copy


class KeepsItsOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)
        self.reps = []

    def forward(self, x):
        self.fused = torch.relu(self.hidden(x))
        self.reps = [self.fused, {"scores": self.head(self.fused)}]
        return self.reps[1]["scores"]


def _trained_once(model):
    model(torch.randn(5, 4)).pow(2).sum().backward()


def test_a_kept_copy_holds_the_last_outputs_detached_and_shared_as_they_were():
    user = KeepsItsOutputs()
    _trained_once(user)
    kept = kept_copy(user)
    assert kept.fused.grad_fn is None
    assert kept.reps[0] is kept.fused
    assert torch.equal(kept.reps[1]["scores"], user.reps[1]["scores"].detach())
    assert user.fused.grad_fn is not None


def test_a_run_of_such_a_model_is_recorded_to_its_end():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    model = KeepsItsOutputs()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:192], y[:192]),
                  (x[192:], y[192:]), epochs=3)
    assert case.copies.initial_model is not None
    assert case.copies.final_model is not None
    assert len(case.trace.validation_passes()) == 3
