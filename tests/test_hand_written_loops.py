"""A hand-written loss a Python loop adds up row by row (wekws' max-pooling loss: per utterance,
a max over the frames of its keyword's probability and a min of the others'), computed again on
held-out rows: that is the run's validation curve, whatever the held-out batches' rows and
whichever branch each row takes (loss_chains.joined). On 913d42e the chain of such a loss grew
by a step a row, so held-out batches of other rows than training's were never recorded, and an
in-place sum (``loss += term``) was recorded once per row, its partial sums averaged."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from conftest import mlp, record
from lossdoctor.capture.loss_chains import joined
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

EPOCHS = 4


def _data(rows: int, generator: torch.Generator) -> TensorDataset:
    x = torch.randn(rows, 8, generator=generator)
    return TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 0.5).long())


def cubed_miss(scores, y):
    """What each row's own class misses of probability 1, cubed: no torch loss computes it."""
    probabilities = scores.softmax(1)
    total = 0.0
    for row in range(len(y)):
        total = total + (1 - probabilities[row, y[row]]) ** 3
    return total / len(y)


def max_pooling(scores, y):
    """wekws' form: -log p of the row's own class, -log(1 - p) of each other, in two branches
    chosen by the label in Python."""
    probabilities = scores.sigmoid()
    loss = 0.0
    for row in range(len(y)):
        for column in range(probabilities.shape[1]):
            if y[row] == column:
                loss += -torch.log(probabilities[row, column].clamp(1e-8, 1.0))
            else:
                loss += -torch.log((1 - probabilities[row, column]).clamp(1e-8, 1.0))
    return loss / len(y)


def summed_in_place(scores, y):
    """A sum over the rows, no mean: each ``+=`` leaves a larger partial sum."""
    probabilities = scores.softmax(1)
    loss = 0.0
    for row in range(len(y)):
        loss += (1 - probabilities[row, y[row]]) ** 2
    return loss


def _fit(loss, measure="loss", held_out_rows=64):
    """An MLP trained on batches of 32 by ``loss``; after each epoch the held-out rows, in
    batches of ``held_out_rows``, get an accuracy and (``measure`` "loss") the same loss.
    Returns the held-out loss of each epoch as the script computes it (a mean over batches)."""
    generator = torch.Generator().manual_seed(0)
    train, held_out = _data(384, generator), _data(192, generator)
    train_loader = DataLoader(train, batch_size=32, shuffle=True, generator=generator)
    held_out_loader = DataLoader(held_out, batch_size=held_out_rows)
    torch.manual_seed(0)
    model = mlp(8, 16, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    curve = []
    for _ in range(EPOCHS):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss(model(x), y).backward()
            optimizer.step()
        model.eval()
        values = []
        with torch.no_grad():
            for x, y in held_out_loader:
                scores = model(x)
                (scores.argmax(1) == y).float().mean().item()
                if measure == "loss":
                    values.append(float(loss(scores, y)))
        curve.append(sum(values) / len(values) if values else math.nan)
    return curve


def _recorded(loss, **kwargs):
    curves = []
    case = record(lambda: curves.append(_fit(loss, **kwargs)))
    return case, curves[0]


@pytest.mark.parametrize("loss", [cubed_miss, max_pooling, summed_in_place])
def test_a_loss_added_up_row_by_row_on_held_out_rows_is_the_validation_curve(loss):
    case, curve = _recorded(loss)
    assert case.trace.setup.loss_name == "hand-written loss"
    passes = case.trace.validation_passes()
    assert [p.loss for p in passes] == pytest.approx(curve, rel=1e-5)
    assert [p.rows for p in passes] == [192] * EPOCHS
    assert case.trace.unscored_evaluation_steps == 0


def test_its_training_curve_has_one_loss_a_step():
    case, _ = _recorded(summed_in_place)
    assert len(case.trace.train_losses()) == case.trace.steps == EPOCHS * 12


def test_the_run_is_not_unscored():
    case, _ = _recorded(max_pooling)
    diagnosis = diagnose_run(ScriptRun("loop", 0, "", case.trace, case.copies), budget=0)
    assert diagnosis.symptom is None or diagnosis.symptom.kind != "unscored"


def test_the_same_loss_followed_by_accuracy_alone_leaves_the_held_out_rows_unscored():
    """No loss on the held-out rows: they are counted unscored, an unlikened hand-written loss
    on a module as any other (913d42e counted nothing for it: "its held-out twin may go
    unseen")."""
    case, _ = _recorded(max_pooling, measure="accuracy")
    assert not case.trace.validation_passes()
    assert case.trace.unscored_evaluation_steps == EPOCHS


def test_a_loop_total_has_the_chain_of_its_terms_whatever_the_rows():
    term = ("softmax", "__getitem__", "__rsub__", "__pow__")
    total = joined([term], "__radd__")
    for _ in range(40):
        total = joined([total, term], "__add__")
    assert total == (*term, "__add__")


def test_a_loop_total_over_two_branches_has_the_chain_they_share():
    kept = ("__getitem__", "clamp", "log", "__neg__")
    other = ("__getitem__", "__rsub__", "clamp", "log", "__neg__")
    first = joined([joined([kept], "__radd__"), other], "__iadd__")
    second = joined([joined([other], "__radd__"), kept], "__iadd__")
    assert first == second == ("__getitem__", "__iadd__")
    assert joined([first, other], "__iadd__") == first


def test_a_loss_that_branches_on_the_labels_in_python_is_replayed_by_calling_it():
    """``if y[row] == column``: a recorded program would take the first batch's branches on
    every batch (913d42e replayed it so, and its replays on other batches failed or scored
    wrongly); the script's own function is called instead (loss_callable.py)."""
    case, _ = _recorded(max_pooling)
    assert type(case.copies.loss_replay).__name__ == "CalledLoss"


def test_a_loss_without_such_a_branch_is_still_a_recorded_program():
    case, _ = _recorded(cubed_miss)
    assert type(case.copies.loss_replay).__name__ == "LossProgram"
