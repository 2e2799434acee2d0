"""Training labels shuffled apart from their inputs at every epoch (x and y shuffled by two
calls: bench/projects6's dl-4-tsc generator) are a pairing fault data_pipeline names from the
batches: the same input came back with another label. Labels that are noise on disk (the same
pairs every epoch), and a run whose pairs are right, stay quiet. The first test fails on d056fab
(data_pipeline had no such reading; no_signal was the answer)."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from conftest import mlp, record
from lossdoctor.capture.sample import Batch
from lossdoctor.checks import data_pipeline
from lossdoctor.checks._repaired_labels import class_labels, relabelled_inputs


def _train(repaired: bool, noise_on_disk: bool = False, epochs: int = 4):
    torch.manual_seed(0)
    x = torch.randn(600, 6)
    y = (x[:, 0] > 0).long()
    if noise_on_disk:
        y = torch.randint(0, 2, (600,))
    dataset = TensorDataset(x[:500], y[:500])
    loader = DataLoader(dataset, batch_size=50, shuffle=True)
    model = mlp(6, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        if repaired:  # the labels shuffled on their own, the inputs kept in their order
            inputs, targets = dataset.tensors
            dataset.tensors = (inputs, targets[torch.randperm(len(targets))])
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(x[500:]), y[500:])


def _slice_loop(repaired: bool, rows: int = 610, batch: int = 64, epochs: int = 6):
    """A loop over slices of its tensors with no validation: no loader and no pass marks its
    epochs but the short batch that ends each (test25 840130, labels_repaired_each_epoch, was
    read as one epoch: no input came back, no_signal was the answer)."""
    torch.manual_seed(0)
    x = torch.randn(rows, 6)
    y = (x[:, 0] > 0).long()
    model = mlp(6, 16, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(epochs):
        if repaired:
            y = y[torch.randperm(rows)]
        order = torch.randperm(rows)
        for start in range(0, rows, batch):
            taken = order[start:start + batch]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[taken]), y[taken]).backward()
            optimizer.step()


def _repaired_findings(case):
    return [f for f in data_pipeline.check(case) if "different labels" in f.verdict]


def test_labels_shuffled_apart_each_epoch_are_named_a_pairing_fault():
    case = record(_train, repaired=True)
    [finding] = _repaired_findings(case)
    assert finding.evidence["inputs_seen_in_two_epochs"] >= data_pipeline.MIN_REPEATED_INPUTS
    assert finding.evidence["share"] >= (data_pipeline.RELABELLED_OF_CHANCE
                                         * finding.evidence["share_by_chance"])
    assert "same training input came with different labels" in finding.verdict


def test_the_same_pairs_every_epoch_are_quiet_whether_or_not_the_labels_carry_signal():
    for noise in (False, True):
        assert _repaired_findings(record(_train, repaired=False, noise_on_disk=noise)) == []


def test_two_dataset_rows_with_one_input_and_two_labels_in_one_epoch_are_not_counted():
    x = torch.zeros(4, 3)
    batch = Batch((x,), {}, torch.tensor([0, 1, 0, 1]), 4, step=0)
    found = relabelled_inputs([batch], lambda step: 0)
    assert found.repeated == 0 and found.relabelled == 0


def test_one_hot_and_float_zero_one_targets_are_read_as_class_ids():
    x = torch.randn(3, 2)
    one_hot = Batch((x,), {}, torch.eye(3), 3)
    binary = Batch((x,), {}, torch.tensor([[0.0], [1.0], [1.0]]), 3)
    values = Batch((x,), {}, torch.tensor([[0.3], [1.7], [2.2]]), 3)
    assert class_labels(one_hot).tolist() == [0, 1, 2]
    assert class_labels(binary).tolist() == [0, 1, 1]
    assert class_labels(values) is None


def test_labels_shuffled_apart_in_a_loop_over_slices_without_validation_are_found():
    case = record(_slice_loop, repaired=True)
    assert len(case.trace.epoch_train_losses()) == 6
    [finding] = _repaired_findings(case)
    assert finding.evidence["inputs_seen_in_two_epochs"] >= data_pipeline.MIN_REPEATED_INPUTS


def test_the_same_loop_with_its_pairs_kept_is_quiet():
    assert _repaired_findings(record(_slice_loop, repaired=False)) == []
