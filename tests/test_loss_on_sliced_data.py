"""A hand-written loss whose target is sliced from a whole data set (``ratings[b]`` in
training, ``ratings[n_train:]`` in validation) keeps the slice as the batch's target, also when
the data set's length is a multiple of the batch's rows (20000 ratings, 4000 validated): the
whole data set is not a flattened target of that batch."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from conftest import record

ROWS, TRAIN_ROWS = 2000, 1600  # 2000 is a multiple of the 400 rows validated
#: Batches of 50 divide the data set too (2000 = 40 x 50); batches of 64 do not.
BATCHES = (50, 64)


def _ratings_like(batch: int):
    """Two category ids per row, a rating per row, a hand-written squared error; validation
    scores every held-out row at once, as a recommender script often does."""
    torch.manual_seed(0)
    users, items = torch.randint(0, 30, (ROWS,)), torch.randint(0, 20, (ROWS,))
    ratings = 3.0 + 0.1 * (users - items).float() + 0.3 * torch.randn(ROWS)
    model = _Ratings()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(2):
        perm = torch.randperm(TRAIN_ROWS)
        for start in range(0, TRAIN_ROWS, batch):
            b = perm[start:start + batch]
            loss = ((model(users[b], items[b]) - ratings[b]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            ((model(users[TRAIN_ROWS:], items[TRAIN_ROWS:]) - ratings[TRAIN_ROWS:]) ** 2).mean()


class _Ratings(nn.Module):
    def __init__(self):
        super().__init__()
        self.u, self.i = nn.Embedding(30, 4), nn.Embedding(20, 4)
        self.mu = nn.Parameter(torch.tensor(3.0))

    def forward(self, u, i):
        return self.mu + (self.u(u) * self.i(i)).sum(1)


@pytest.mark.parametrize("batch", BATCHES)
def test_the_validation_target_is_the_slice_not_the_whole_data_set(batch):
    case = record(_ratings_like, batch)
    validation = case.copies.validation.batches
    assert validation, "the validation batch was kept"
    assert all(tuple(b.target.shape) in ((b.rows,), (b.rows, 1)) for b in validation)
    scored = case.replayer.evaluate(case.copies.final_model, validation)
    recorded = case.trace.validation_passes()[-1].loss
    assert math.isclose(scored, recorded, rel_tol=1e-4)
