"""Experiments run on the device the run trained on; copies that are only kept wait on the CPU.

There is no accelerator here: the device the run "trained on" is set to ``meta`` (tensors with
shapes and no data), where torch computes shapes through the forward, backward and optimizer
step, so every tensor an experiment touches must have been moved there for it to run at all."""

import copy

import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.model_copy import KEPT_ON, device_of, kept_copy
from lossdoctor.experiments import Plan, Replayer

META = torch.device("meta")


def _case():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    model = mlp(4, 8, 2)
    return record(fit, model, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
                  (x[:100], y[:100]), (x[100:], y[100:]), epochs=1)


def _on_meta(case) -> Replayer:
    case.copies.device = META  # as if the run had trained on an accelerator
    return Replayer(case.copies, experiments=True)


def test_a_kept_copy_is_made_where_asked_without_gradients_and_the_model_is_untouched():
    model = mlp(4, 8, 2)
    model(torch.randn(3, 4)).sum().backward()
    kept = kept_copy(model, on=META)
    assert {p.device for p in kept.parameters()} == {META}
    assert all(p.grad is None for p in kept.parameters())
    assert all(p.grad is not None and p.device.type == "cpu" for p in model.parameters())
    assert [p.requires_grad for p in kept.parameters()] == [True] * 4


def test_tied_parameters_stay_tied_in_a_kept_copy():
    model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5, bias=False))
    model[1].weight = model[0].weight
    kept = kept_copy(model)
    assert kept[1].weight is kept[0].weight and kept[0].weight is not model[0].weight


def test_the_run_keeps_its_models_off_the_device_without_gradients_and_notes_the_device():
    copies = _case().copies
    assert copies.device == torch.device("cpu")
    for kept in (copies.initial_model, copies.final_model):
        assert device_of(kept) == KEPT_ON
        assert all(p.grad is None for p in kept.parameters())


def test_experiments_train_on_the_runs_device_and_the_kept_copy_stays_on_the_cpu():
    case = _case()
    replayer = _on_meta(case)
    assert {b.args[0].device for b in replayer.train_batches} == {META}
    model = copy.deepcopy(case.copies.initial_model)
    optimizer = replayer.optimizer_for(model, Plan())
    assert device_of(model) == META
    loss = replayer.loss(model, case.copies.train.batches[0])  # a CPU batch is moved too
    loss.backward()
    optimizer.step()  # the optimizer holds the moved parameters
    assert loss.device == META and all(p.grad.device == META for p in model.parameters())
    assert device_of(case.copies.initial_model) == KEPT_ON


def test_a_kept_copy_used_as_it_is_is_copied_to_the_device_and_stays_kept():
    case = _case()
    replayer = _on_meta(case)
    kept = case.copies.initial_model
    placed = replayer.placed(kept)
    assert placed is not kept and device_of(placed) == META
    assert replayer.predict(kept, replayer.train_batches[0]).device == META
    assert device_of(kept) == KEPT_ON
