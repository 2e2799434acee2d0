"""A loss that compares the outputs of several calls of the model (a triplet loss on
``model(anchor)``, ``model(positive)``, ``model(negative)``) has no target: no batch is paired
with another call's output as if it were the labels, and the checks that replay the training
skip, saying why, instead of replaying ``loss(prediction, target)``."""

from __future__ import annotations

import torch
from torch import nn

from conftest import mlp, record
from lossdoctor.diagnosis import diagnose

CLUSTERS, FEATURES, ROWS, BATCH = 4, 8, 800, 50


def _triplets(rows: int, generator: torch.Generator, centres: torch.Tensor):
    anchor = torch.randint(0, CLUSTERS, (rows,), generator=generator)
    other = (anchor + torch.randint(1, CLUSTERS, (rows,), generator=generator)) % CLUSTERS

    def noise():
        return torch.randn(rows, FEATURES, generator=generator)

    return centres[anchor] + noise(), centres[anchor] + noise(), centres[other] + noise()


def _metric_learning():
    """fresh16 s11's shape: triplets of clustered points, a healthy embedding net."""
    generator = torch.Generator().manual_seed(0)
    centres = 2 * torch.randn(CLUSTERS, FEATURES, generator=generator)
    train = _triplets(ROWS, generator, centres)
    validation = _triplets(200, generator, centres)
    torch.manual_seed(0)
    embed = mlp(FEATURES, 32, 8)
    optimizer = torch.optim.Adam(embed.parameters(), lr=1e-3)
    triplet = nn.TripletMarginLoss(margin=1.0)
    for _ in range(4):
        embed.train()
        for start in range(0, ROWS, BATCH):
            a, p, n = (t[start:start + BATCH] for t in train)
            loss = triplet(embed(a), embed(p), embed(n))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        embed.eval()
        with torch.no_grad():
            triplet(*(embed(t) for t in validation))


def test_a_triplet_loss_pairs_no_batch_and_says_why_it_is_not_replayed():
    case = record(_metric_learning)
    assert not case.copies.train.batches and not case.copies.validation.batches
    assert "several calls of your model" in case.copies.loss_problem
    assert len(case.trace.train_losses()) == 4 * ROWS // BATCH  # each step's loss, once
    diagnosis = diagnose(case)
    assert not diagnosis.causes, [f.cause.id for f in diagnosis.causes]
    assert not diagnosis.unfinished, [(o.name, o.reason) for o in diagnosis.unfinished]
    replaying = [o for o in diagnosis.outcomes if o.name == "learning_rate"]
    assert replaying[0].status == "skipped"
    assert replaying[0].reason == case.copies.loss_problem


def test_a_loss_on_one_call_and_its_labels_still_pairs_its_batches():
    """The twin: the same data, a classifier on the anchors' clusters."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(ROWS, FEATURES, generator=generator)
    y = (x[:, 0] > 0).long()
    model = mlp(FEATURES, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def fit():
        for start in range(0, ROWS, BATCH):
            loss = nn.functional.cross_entropy(model(x[start:start + BATCH]),
                                               y[start:start + BATCH])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    case = record(fit)
    assert case.copies.train.batches and not case.copies.loss_problem


class _ReturnsItsInput(nn.Module):
    """An autoencoder that returns its reconstruction and its input."""

    def __init__(self):
        super().__init__()
        self.code, self.back = nn.Linear(FEATURES, 3), nn.Linear(3, FEATURES)

    def forward(self, x):
        return self.back(torch.relu(self.code(x))), x


def test_a_model_that_returns_its_input_every_step_is_one_call():
    """Full-batch training: the same input tensor is an output of every call, and the loss of
    one call (reconstruction against that input) still compares one call's outputs."""
    x = torch.randn(64, FEATURES, generator=torch.Generator().manual_seed(0))
    model = _ReturnsItsInput()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def fit():
        for _ in range(20):
            reconstruction, target = model(x)
            loss = nn.functional.mse_loss(reconstruction, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    case = record(fit)
    assert "several calls" not in case.copies.loss_problem
    assert case.copies.train.batches
