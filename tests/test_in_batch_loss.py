"""An in-batch loss (CLIP's, a two-tower retrieval model's): each row is scored against the
batch's rows, and its target is its own position, ``cross_entropy(u @ v.T, arange(B))``.
Replays that change a batch's rows make that target anew."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import mlp, record
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import take_rows
from lossdoctor.checks import no_signal
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip

ROWS, ITEMS, B = 1024, 50, 64


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.user, self.item = nn.Linear(16, 8), nn.Embedding(ITEMS, 8)

    def forward(self, users, items):
        scores = F.normalize(self.user(users), dim=-1) @ F.normalize(self.item(items), dim=-1).T
        return scores / 0.1


def _data():
    generator = torch.Generator().manual_seed(0)
    return (torch.randn(ROWS, 16, generator=generator),
            torch.randint(0, ITEMS, (ROWS,), generator=generator))


def _in_batch_run(scale_in_loop: float | None = None):
    """The two-tower model trained on in-batch targets; with ``scale_in_loop``, its scores
    scaled in the loop before the loss (a loss lossdoctor records as a program)."""
    users, items = _data()
    torch.manual_seed(0)
    model = TwoTower()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def scores(rows):
        out = model(users[rows], items[rows])
        return out if scale_in_loop is None else out * scale_in_loop

    def train():
        for _ in range(3):
            order = torch.randperm(768)  # epochs meet the same rows at other places
            for start in range(0, 768, B):
                loss = F.cross_entropy(scores(order[start:start + B]), torch.arange(B))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                F.cross_entropy(scores(torch.arange(768, 832)), torch.arange(B))

    return record(train)


def test_an_in_batch_target_is_kept_whole_and_made_anew_for_fewer_rows():
    case = _in_batch_run()
    copies = case.copies
    assert copies.in_batch_target
    assert all(b.rows == B for b in copies.train.batches)  # no batch cut to its unseen rows
    batch = copies.train.batches[0]
    rows = list(range(10))
    fewer = Batch(take_rows(batch.args, rows, B), take_rows(batch.kwargs, rows, B),
                  take_rows(batch.target, rows, B), 10)
    loss = copies.replay_loss.loss(copies.initial_model, fewer)
    scores = copies.initial_model(*fewer.args)
    assert torch.allclose(loss, F.cross_entropy(scores, torch.arange(10)))
    replayed = case.replayer.replay(Plan(steps=20, evaluations=2))
    assert replayed.validation_losses and all(v == v for v in replayed.validation_losses)


def test_class_labels_are_not_taken_for_positions():
    users, items = _data()
    labels = items % 4
    torch.manual_seed(0)
    model = mlp(16, 32, 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def train():
        for start in range(0, 768, B):
            loss = F.cross_entropy(model(users[start:start + B]), labels[start:start + B])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    assert not record(train).copies.in_batch_target


def test_an_in_batch_loss_written_in_the_loop_replays_and_its_positions_are_no_labels():
    """The scores scaled in the loop, not in the model: a loss lossdoctor records as a
    program. Rebatching once failed ("Target 4 is out of bounds"), and no_signal read the
    positions as labels no input predicts (0.9) on this healthy run."""
    case = _in_batch_run(scale_in_loop=0.5)
    assert case.copies.in_batch_target
    batch = case.replayer.train_batches[0]
    fewer = Batch(take_rows(batch.args, list(range(8)), B), {}, take_rows(
        batch.target, list(range(8)), B), 8)
    for rows in (fewer, batch):
        assert torch.isfinite(case.replayer.loss(copy.deepcopy(case.copies.initial_model), rows))
    with pytest.raises(Skip, match="place in its batch"):
        no_signal.check(case)
