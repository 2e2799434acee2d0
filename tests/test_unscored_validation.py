"""A script that follows held-out rows by another measure than a loss (an accuracy, an AUC) and
computes no validation loss: only its training loss can be judged, so the run is not called
healthy (fresh25 s08 scored its test split by AUC alone and was). An evaluation of the training
rows, or one final test score, leaves the run judged on its training curve as before."""

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from conftest import mlp, record
from lossdoctor.report._common import headline
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

EPOCHS = 6


def _data(rows: int, generator: torch.Generator) -> TensorDataset:
    x = torch.randn(rows, 8, generator=generator)
    return TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long())


def _accuracy(model, loader) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for x, y in loader:
            right += int((model(x).argmax(1) == y).sum())
    model.train()
    return right / len(loader.dataset)


def _hand_written_cross_entropy(scores, y):
    return -scores.log_softmax(1).gather(1, y[:, None]).mean()


def _accuracy_and_loss(model, loader, loss) -> tuple[float, float]:
    """The accuracy, and the training loss on the same outputs (its mean over the batches)."""
    model.eval()
    right, losses = 0, []
    with torch.no_grad():
        for x, y in loader:
            scores = model(x)
            right += int((scores.argmax(1) == y).sum())
            losses.append(float(loss(scores, y)))
    model.train()
    return right / len(loader.dataset), sum(losses) / len(losses)


def _fit(scored: str, every_epoch: bool = True, before: bool = False, loss=None,
         with_loss: bool = False):
    """An MLP trained by cross-entropy; ``scored`` names the rows its accuracy is measured on
    ("held_out" or "train"), at every epoch or only after the last, and ``before`` training;
    ``with_loss``: the training loss is computed on those rows too.
    F.cross_entropy is looked up at the call, as a script's is: lossdoctor watches it there."""
    loss = loss or F.cross_entropy
    generator = torch.Generator().manual_seed(0)
    train, held_out = _data(512, generator), _data(256, generator)
    train_loader = DataLoader(train, batch_size=32, shuffle=True, generator=generator)
    scored_loader = DataLoader(held_out if scored == "held_out" else train, batch_size=64)
    model = mlp(8, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    if before:
        _accuracy(model, scored_loader)
    for epoch in range(EPOCHS):
        for x, y in train_loader:
            optimizer.zero_grad()
            loss(model(x), y).backward()
            optimizer.step()
        if with_loss:
            _accuracy_and_loss(model, scored_loader, loss)
        elif every_epoch or epoch == EPOCHS - 1:
            _accuracy(model, scored_loader)


def test_held_out_rows_followed_by_a_measure_are_counted_once_a_step():
    case = record(_fit, "held_out")
    assert case.trace.unscored_evaluation_steps == EPOCHS
    assert not case.trace.validation_passes()


def test_training_rows_and_a_final_score_make_no_curve_of_held_out_rows():
    assert record(_fit, "train").trace.unscored_evaluation_steps == 0
    assert record(_fit, "held_out", every_epoch=False).trace.unscored_evaluation_steps == 1
    assert record(_fit, "held_out", every_epoch=False,
                  before=True).trace.unscored_evaluation_steps == 1


def test_a_hand_written_training_loss_followed_by_accuracy_alone_is_counted_too():
    """The rule holds whatever computed the training loss (929abff counted nothing when it
    was written by hand: its held-out twin could go unseen on a model of plain tensors,
    test_plain_tensor_validation.py)."""
    case = record(_fit, "held_out", loss=_hand_written_cross_entropy)
    assert case.trace.unscored_evaluation_steps == EPOCHS


def test_a_hand_written_loss_on_the_held_out_rows_scores_them():
    """The same hand-written loss computed after the accuracy: a validation curve, and no
    evaluation left unscored (hand_written_events takes the batch's signature)."""
    case = record(_fit, "held_out", loss=_hand_written_cross_entropy, with_loss=True)
    assert len(case.trace.validation_passes()) == EPOCHS
    assert case.trace.unscored_evaluation_steps == 0


def test_a_run_followed_by_accuracy_alone_is_not_called_healthy():
    case = record(_fit, "held_out")
    diagnosis = diagnose_run(ScriptRun("acc", 0, "", case.trace, case.copies), budget=0)
    assert diagnosis.status != "healthy"
    assert diagnosis.symptom.kind == "unscored"
    document = {"status": diagnosis.status, "partial": False, "causes": [],
                "symptom": {"kind": "unscored", "message": diagnosis.symptom.message}}
    assert headline(document).startswith("Not called healthy: your training loss shows no")


def test_its_twin_scored_on_training_rows_is_judged_on_its_training_curve():
    case = record(_fit, "train")
    diagnosis = diagnose_run(ScriptRun("acc", 0, "", case.trace, case.copies), budget=0)
    assert diagnosis.symptom is None or diagnosis.symptom.kind != "unscored"


def _max_pooling_loss(scores, y):
    """A loss lossdoctor cannot liken to a torch loss, summed row by row in a Python loop as
    wekws' max-pooling loss is: the cube of what each row's own class misses of probability 1."""
    probabilities = scores.softmax(1)
    total = 0.0
    for row in range(len(y)):
        total = total + (1 - probabilities[row, y[row]]) ** 3
    return total / len(y)


def test_an_unlikened_hand_written_loss_on_held_out_rows_scores_them():
    """A loss summed row by row on held-out batches of other rows than training's (fresh28 s09,
    wekws' executor, computes it on its cv rows): it is the validation curve, and no
    evaluation is left unscored (913d42e saw no such loss, and counted none unscored)."""
    case = record(_fit, "held_out", loss=_max_pooling_loss, with_loss=True)
    assert case.trace.setup.loss_name == "hand-written loss"
    assert len(case.trace.validation_passes()) == EPOCHS
    assert case.trace.unscored_evaluation_steps == 0
