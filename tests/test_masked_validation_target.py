"""A token tagger trained on every position of ``out.reshape(-1, C)`` (the targets of the
positions that are not word ends set to 0) and validated on the word ends only
(``out[word_mask]`` against ``y[word_mask]``), as neural-punctuator's trainer does (fresh25
s09). The validation batches were kept paired with the masked target (one row per selected
position, not per batch row), and every replay that scored them ran the training loss on the
whole output against it: "Expected input batch_size (192) to match target batch_size (98)".
A validation target selected by a mask is kept as the per-row target with the left-out
positions set to the loss's ignore_index, so the training loss, replayed on every position,
counts the selected ones only (and an unreduced loss's ``.mean()`` is read over them)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from conftest import record

ROWS, LENGTH, VOCAB, CLASSES = 16, 12, 30, 4
WEIGHTS = torch.tensor([0.5, 1.0, 1.0, 1.0])


def _tokens(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids whose class is the id modulo 4, labelled at about half the positions (-1
    elsewhere: not a word end)."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, VOCAB, (n, LENGTH), generator=generator)
    targets = tokens % CLASSES
    targets[torch.rand(n, LENGTH, generator=generator) < 0.5] = -1
    return tokens, targets


class Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.out = nn.Embedding(VOCAB, 16), nn.Linear(16, CLASSES)

    def forward(self, x):
        return F.log_softmax(self.out(torch.tanh(self.embed(x))), dim=-1)


def _validation_loss(kind: str, preds, targets, criterion=None):
    mask = targets != -1
    if kind == "squared_error":
        return ((preds.exp()[..., 0][mask] - (targets[mask] == 0).float()) ** 2).mean()
    if kind == "weighted_unreduced":
        return criterion(preds[mask].view(-1, CLASSES), targets[mask].view(-1)).mean()
    return F.nll_loss(preds[mask], targets[mask])


def _train(kind: str) -> None:
    torch.manual_seed(0)
    train_x, train_y = _tokens(0, 6 * ROWS)
    valid_x, valid_y = _tokens(1, 2 * ROWS)
    model = Tagger()
    criterion = nn.NLLLoss(weight=WEIGHTS, reduction="none")  # built once, as trainers do
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _epoch in range(3):
        model.train()
        for start in range(0, len(train_x), ROWS):
            optimizer.zero_grad()
            inputs, targets = train_x[start:start + ROWS], train_y[start:start + ROWS].clone()
            preds = model(inputs)
            if kind == "masked_both":
                mask = targets != -1
                loss = F.nll_loss(preds[mask], targets[mask])
            elif kind == "squared_error":
                loss = ((preds.exp()[..., 0] - (targets == 0).float()) ** 2).mean()
            else:
                targets[targets == -1] = 0
                if kind == "weighted_unreduced":
                    losses = criterion(preds.reshape(-1, CLASSES), targets.reshape(-1))
                    loss = losses.mean()
                else:
                    loss = F.nll_loss(preds.reshape(-1, CLASSES), targets.reshape(-1))
            loss.backward()
            optimizer.step()
        model.eval()
        for start in range(0, len(valid_x), ROWS):
            with torch.no_grad():
                preds = model(valid_x[start:start + ROWS])
            _validation_loss(kind, preds, valid_y[start:start + ROWS], criterion)


def _validation_losses(kind: str):
    """The replayed loss of the untrained model on each kept validation batch, and the
    script's own validation loss of it on the same rows."""
    case = record(_train, kind)
    batches = case.copies.validation.batches
    model = copy.deepcopy(case.copies.initial_model).eval()
    replayed = [case.replayer.evaluate(model, [b]) for b in batches]
    _, valid_y = _tokens(1, 2 * ROWS)
    with torch.no_grad():
        criterion = nn.NLLLoss(weight=WEIGHTS, reduction="none")
        script = [float(_validation_loss(kind, model(b.args[0]),
                                         valid_y[i * ROWS:(i + 1) * ROWS], criterion))
                  for i, b in enumerate(batches)]
    return case, replayed, script


@pytest.mark.parametrize("kind", ["functional", "masked_both"])
def test_a_masked_validation_target_replays_as_the_validation_loss(kind):
    case, replayed, script = _validation_losses(kind)
    assert len(replayed) == 2, replayed
    assert replayed == pytest.approx(script, rel=1e-4)


def test_an_unreduced_weighted_loss_replays_on_the_validation_curves_scale():
    # The training loss is the mean over every position, left-out ones counting 0: replayed
    # on a validation batch, its mean is over the word ends, as the script's validation loss
    # (capture/summed_losses.py), not half of it.
    case, replayed, script = _validation_losses("weighted_unreduced")
    assert len(replayed) == 2, replayed
    assert replayed == pytest.approx(script, rel=1e-4)
    train_batch = case.copies.train.batches[0]  # every position counted: as it was
    model = copy.deepcopy(case.copies.initial_model).eval()
    assert case.replayer.evaluate(model, [train_batch]) == pytest.approx(
        case.trace.train_losses()[0].value, rel=1e-4)


def test_a_masked_target_no_ignore_index_can_mark_pairs_no_batch():
    case = record(_train, "squared_error")
    model = copy.deepcopy(case.copies.initial_model)
    for batch in case.copies.validation.batches:  # none kept, or kept as the replay reads it
        case.replayer.evaluate(model, [batch])
