"""Full-graph training with the loss on a selection of the rows (a graph network's
``F.cross_entropy(out[train_mask], y[train_mask])``, or ``out[idx_train]`` with an index):
the loss program met two tensors with a row per node (the mask and the labels) and could not
be replayed, and the validation's other rows of the same forward were not kept, so every
check that replays skipped. The selection is now the kept batch's: the training batch holds
the training rows, the validation batch of the same inputs the validation's own, and a replay
scores what the script scored."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.capture.row_selection import is_row_selection, selection_copy
from lossdoctor.capture.sample import Batch
from lossdoctor.case import NO_VALIDATION_ROWS
from lossdoctor.checks._linear_stack import computes_affine_map
from lossdoctor.experiments import Replayer
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

NODES, FEATURES, CLASSES, EPOCHS = 240, 12, 3, 40


class TinyGCN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(FEATURES, 16), nn.Linear(16, CLASSES)

    def forward(self, x, adj):
        return adj @ self.second(F.relu(adj @ self.first(x)))


def _graph():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, CLASSES, (NODES,), generator=generator)
    same = (labels[:, None] == labels[None, :]).float()
    adj = (torch.rand(NODES, NODES, generator=generator) < 0.01 + 0.04 * same).float()
    adj = ((adj + adj.t()) > 0).float() + torch.eye(NODES)
    adj = adj / adj.sum(1, keepdim=True)
    centers = torch.randn(CLASSES, FEATURES, generator=generator)
    features = centers[labels] + torch.randn(NODES, FEATURES, generator=generator)
    return features, adj, labels


def _selections(kind: str):
    train, val = torch.arange(0, 120), torch.arange(120, 200)
    if kind == "index":
        return train, val
    masks = torch.zeros(2, NODES, dtype=torch.bool)
    masks[0, train], masks[1, val] = True, True
    return masks[0], masks[1]


def _hand_written(out, labels):
    return -out.log_softmax(1).gather(1, labels[:, None]).mean()


def _scored(out, labels, rows, loss):
    if loss == "hand":
        return _hand_written(out[rows], labels[rows])
    return F.cross_entropy(out[rows], labels[rows])


def _fit(kind: str = "mask", lr: float = 0.01, validate_on: str = "val",
         loss: str = "torch") -> list[float]:
    """PyTorch Geometric's loop: one forward over every node per step, the loss on the training
    selection; validation on the validation selection of an eval forward under no_grad."""
    torch.manual_seed(0)
    features, adj, labels = _graph()
    train, val = _selections(kind)
    scored = val if validate_on == "val" else train
    model = TinyGCN()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    losses = []
    for _ in range(EPOCHS):
        model.train()
        optimizer.zero_grad()
        out = model(features, adj)
        _scored(out, labels, train, loss).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            losses.append(_scored(model(features, adj), labels, scored, loss).item())
    return losses


@pytest.mark.parametrize(("kind", "loss"), [("mask", "torch"), ("index", "torch"),
                                            ("mask", "hand")])
def test_the_kept_batches_hold_every_label_and_the_rows_each_loss_scored(kind, loss):
    case = record(_fit, kind, loss=loss)
    assert not case.copies.loss_problem
    (trained,), (validated,) = case.copies.train.batches, case.copies.validation.batches
    assert torch.equal(trained.selection, torch.arange(0, 120))
    assert torch.equal(validated.selection, torch.arange(120, 200))
    assert trained.target.shape == validated.target.shape == (NODES,)


@pytest.mark.parametrize(("kind", "loss"), [("mask", "torch"), ("index", "torch")])
def test_a_replay_scores_the_validation_rows_as_the_script_did(kind, loss):
    case = record(_fit, kind, loss=loss)
    replayer = Replayer(case.copies)
    last = case.trace.validation_passes()[-1].loss
    assert math.isclose(replayer.evaluate(case.copies.final_model, replayer.validation_batches),
                        last, rel_tol=1e-4)
    first = case.copies.train.batches[0]
    trained_rows = replayer.evaluate(case.copies.final_model, [first])
    assert not math.isclose(trained_rows, last, rel_tol=1e-2)  # other rows


def test_a_validation_of_the_training_rows_keeps_no_validation_batch():
    """A training-split estimate (the training selection under no_grad) scores no other rows."""
    case = record(_fit, "mask", validate_on="train")
    assert case.copies.train.batches[0].selection is not None
    assert not case.copies.validation.batches


def test_minibatch_batches_keep_no_selection():
    def fit() -> None:
        torch.manual_seed(0)
        x, y = torch.randn(256, 8), torch.randint(0, 2, (256,))
        model = nn.Linear(8, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for start in range(0, 256, 32):
            optimizer.zero_grad()
            F.cross_entropy(model(x[start:start + 32]), y[start:start + 32]).backward()
            optimizer.step()

    case = record(fit)
    assert case.copies.train.batches
    assert all(b.selection is None for b in case.copies.train.batches)


def test_a_selection_is_a_mask_of_every_row_or_an_index_of_some():
    assert is_row_selection(torch.ones(5, dtype=torch.bool), 5)
    assert not is_row_selection(torch.ones(4, dtype=torch.bool), 5)
    assert is_row_selection(torch.tensor([0, 3]), 5)
    assert not is_row_selection(torch.tensor([0.0, 3.0]), 5)
    assert not is_row_selection(torch.zeros(2, 5, dtype=torch.long), 5)
    assert torch.equal(selection_copy(torch.tensor([True, False, True])), torch.tensor([0, 2]))


def _diagnosed(lr: float):
    case = record(_fit, "mask", lr)
    return diagnose_run(ScriptRun("gcn", 0, "", case.trace, case.copies), budget=60)


@pytest.mark.slow
def test_a_learning_rate_far_too_low_is_found_by_replays_of_the_graph():
    diagnosis = _diagnosed(1e-6)
    assert not any(o.reason == NO_VALIDATION_ROWS for o in diagnosis.outcomes)
    assert "lr_too_low" in [f.cause.id for f in diagnosis.causes]


def test_the_same_graph_at_a_usual_learning_rate_is_healthy():
    diagnosis = _diagnosed(0.03)
    assert not any(o.reason == NO_VALIDATION_ROWS for o in diagnosis.outcomes)
    assert not diagnosis.causes
    assert diagnosis.status == "healthy"


class LinearGCN(nn.Module):
    def __init__(self, activation: nn.Module) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(FEATURES, 8), nn.Linear(8, CLASSES)
        self.activation = activation

    def forward(self, x, adj):
        return adj @ self.second(self.activation(adj @ self.first(x)))


@pytest.mark.parametrize(("activation", "affine"), [(nn.Identity(), True), (nn.ReLU(), False)])
def test_a_graph_batch_is_told_affine_or_not_without_cutting_its_nodes(activation, affine):
    features, adj, labels = _graph()
    batch = Batch((features, adj), {}, labels, NODES, selection=torch.arange(0, 60))
    torch.manual_seed(0)
    assert computes_affine_map(LinearGCN(activation), batch) is affine


def test_minibatches_scored_on_their_labelled_rows_keep_each_its_own_selection():
    """Rows without a label (-1) left out of each batch's loss: every kept batch holds all its
    rows' labels and the rows its loss scored, and a replay recomputes that loss."""
    def fit() -> None:
        torch.manual_seed(0)
        x, y = torch.randn(256, 8), torch.randint(0, 2, (256,))
        y[torch.rand(256) < 0.3] = -1
        model = nn.Linear(8, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for start in range(0, 256, 32):
            xb, yb = x[start:start + 32], y[start:start + 32]
            labelled = yb != -1
            optimizer.zero_grad()
            F.cross_entropy(model(xb)[labelled], yb[labelled]).backward()
            optimizer.step()

    case = record(fit)
    batches = case.copies.train.batches
    assert len(batches) > 1
    for batch in batches:
        assert batch.target.shape == (32,)
        assert torch.equal(batch.selection, torch.nonzero(batch.target != -1).flatten())
    replayer = Replayer(case.copies)
    assert math.isfinite(replayer.evaluate(case.copies.initial_model, batches))
