import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.constant_guess import constant_guess_loss, fit_constant, recorded_units_guess


def _case(loss_fn, target, outputs):
    """A linear model trained a few steps on inputs that do not matter, with this loss."""
    torch.manual_seed(0)
    model = nn.Linear(2, outputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def train():
        for _ in range(10):
            optimizer.zero_grad()
            loss_fn(model(torch.randn(8, 2)).squeeze(-1), target).backward()
            optimizer.step()

    return record(train)


@pytest.mark.parametrize(
    ("loss_fn", "target", "outputs", "expected"),
    [
        (nn.BCEWithLogitsLoss(), torch.tensor([0.0, 1.0] * 4), 1, math.log(2)),
        (lambda p, y: F.binary_cross_entropy(torch.sigmoid(p), y),
         torch.tensor([0.0, 0.0, 0.0, 1.0] * 2), 1,
         -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))),
        (lambda p, y: F.cross_entropy(p, y), torch.tensor([0, 1, 2, 3] * 2), 4, math.log(4)),
        (nn.MSELoss(), torch.tensor([1.0, 3.0] * 4), 1, 1.0),
        (nn.L1Loss(), torch.tensor([1.0, 1.0, 1.0, 5.0] * 2), 1, 1.0),
    ],
    ids=["bce-logits", "bce-probabilities", "cross-entropy", "mse-mean", "l1-median"],
)
def test_the_constant_guess_costs_what_the_best_input_free_prediction_costs(
    loss_fn, target, outputs, expected
):
    case = _case(loss_fn, target, outputs)
    assert case.constant_guess_loss("training") == pytest.approx(expected, rel=0.02)
    assert case.constant_guess_loss("validation") == pytest.approx(expected, rel=0.02)
    fitted = fit_constant(case.replayer, case.trace.setup.loss_name)
    for batches in (case.replayer.train_batches, case.replayer.validation_batches):
        assert case.replayer.evaluate(fitted, batches) == pytest.approx(expected, rel=0.02)


def test_without_anything_to_replay_there_is_no_constant_guess_rather_than_an_error():
    from lossdoctor.capture.copies import Copies
    from lossdoctor.case import Case
    from lossdoctor.trace import Trace

    case = Case(Trace(), Copies())
    assert case.constant_guess_loss("training") is None
    assert case.constant_guess_loss("validation") is None


def test_a_loss_without_a_closed_form_gets_the_fitted_constant():
    target = torch.tensor([0.0, 0.0, 0.0, 4.0] * 2)
    case = _case(nn.HuberLoss(), target, 1)  # best constant: between the median and the mean
    fitted = fit_constant(case.replayer, case.trace.setup.loss_name)
    expected = case.replayer.evaluate(fitted, case.replayer.train_batches)
    assert case.constant_guess_loss("training") == pytest.approx(expected)
    assert float(fitted.value.detach()) == pytest.approx(1 / 3, abs=0.01)  # 3 slopes vs 1


def test_class_weights_rule_out_the_closed_form():
    target = torch.tensor([0, 0, 0, 1] * 2)
    weighted = _case(nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0])), target, 2)
    plain = _case(nn.CrossEntropyLoss(), target, 2)
    assert plain.constant_guess_loss("training") == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), rel=0.02)
    assert weighted.constant_guess_loss("training") == pytest.approx(math.log(2), rel=0.02)


def test_live_without_a_fit_there_is_a_closed_form_or_nothing():
    train = np.array([0, 0, 0, 1] * 250)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert constant_guess_loss("CrossEntropyLoss", {}, train, train) == pytest.approx(
        entropy, abs=1e-3)
    binary = constant_guess_loss("BCELoss", {}, train.astype(float), train.astype(float))
    assert binary == pytest.approx(entropy, abs=1e-3)
    values = np.arange(10.0)
    assert constant_guess_loss("MSELoss", {}, values, values) == pytest.approx(values.var())
    assert constant_guess_loss("CrossEntropyLoss", {}, np.ones((4, 3)), train) is None
    assert constant_guess_loss("CrossEntropyLoss", {"reduction": "sum"}, train, train) is None
    assert constant_guess_loss("HuberLoss", {}, values, values) is None
    assert constant_guess_loss("HuberLoss", {}, values, values, fit=lambda: 0.5) == 0.5


def test_a_sequence_of_token_targets_gets_the_token_frequencies_as_its_constant_guess():
    """A language model's targets, one class per position, with padding the loss ignores: the
    best input-free guess predicts the token frequencies at every position."""
    generator = np.random.default_rng(0)
    train = generator.choice(5, size=(64, 12), p=[0.5, 0.2, 0.1, 0.1, 0.1])
    scored = generator.choice(5, size=(32, 12), p=[0.5, 0.2, 0.1, 0.1, 0.1])
    train[:, -2:], scored[:, -2:] = -1, -1  # padding
    loss = constant_guess_loss("cross_entropy", {"ignore_index": -1}, train, scored)
    kept = scored[scored != -1]
    counts = np.bincount(train[train != -1], minlength=5) + 0.5
    expected = -np.log(counts / counts.sum())[kept].mean()
    assert loss == pytest.approx(expected)
    logits = torch.log(torch.tensor(counts / counts.sum(), dtype=torch.float64))
    by_torch = F.cross_entropy(logits.expand(kept.size, -1), torch.from_numpy(kept))
    assert loss == pytest.approx(by_torch.item(), rel=1e-6)


def test_a_summed_token_loss_has_its_label_entropy_in_the_units_lossdoctor_records():
    """A language model's cross-entropy summed over the tokens (and divided by their count in
    the model, as the Hugging Face models do) has no closed form in the run's own units; the
    curves lossdoctor records are per-token means, whose constant guess is the label entropy
    (fresh25 s11: no guess, so the gap of 0.25 against 3.55 was never read)."""
    train = np.array([[0, 1, 1, 2], [1, 1, 2, -100]])
    scored = np.array([[1, 2, 0, -100]])
    settings = {"reduction": "sum", "ignore_index": -100}
    assert constant_guess_loss("cross_entropy", settings, train, scored) is None
    counts = np.array([1.5, 4.5, 2.5])  # the training tokens' counts and half a count each
    expected = -np.mean(np.log(counts / counts.sum())[[1, 2, 0]])
    assert recorded_units_guess("cross_entropy", settings, train, scored) == pytest.approx(expected)
    weighted = {**settings, "weight": True}
    assert recorded_units_guess("cross_entropy", weighted, train, scored) is None
