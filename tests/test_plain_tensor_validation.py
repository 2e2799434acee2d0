"""A network written as plain tensors in the style of Nielsen's network2.py (lists of weights and
biases, a sigmoid feedforward, a cost written by hand, mini-batch SGD by hand) whose script
computes its cost on the test rows after each epoch: that test cost is the run's validation
loss, as a torch.nn loss's would be (the same calls from the target as the training loss,
tensor_program.evaluation_loss). Followed by test accuracy alone, the run is `unscored`. On
929abff no such validation loss was seen, and no evaluation of a run with a hand-written loss
was counted unscored."""

import math

import pytest
import torch

from conftest import record
from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

EPOCHS = 6
SIZES = [12, 16, 3]


def quadratic(a, y):
    return 0.5 * ((a - y) ** 2).sum(1).mean()


def cross_entropy(a, y):
    return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum(1).mean()


def euclidean(a, y):
    """Caffe's EuclideanLoss: the squared error summed, divided by twice the batch's rows."""
    return ((a - y) ** 2).sum() / (2 * a.size(0))


def _data(generator):
    x = torch.randn(800, SIZES[0], generator=generator)
    scores = x @ torch.randn(SIZES[0], SIZES[-1], generator=generator)
    labels = (scores + torch.randn(800, SIZES[-1], generator=generator)).argmax(1)
    return (x[:600], labels[:600]), (x[600:], labels[600:])


def nielsen_run(lr=0.5, cost=quadratic, measure="cost", penalty=0.0):
    """The network trained by SGD written by hand, batches of 10; after each epoch the test
    rows' ``measure`` ("cost": the cost and the accuracy; "accuracy": the accuracy alone).
    ``penalty``: an L2 penalty on the weights in the training loss only. Returns the case
    and the test costs the script computed."""
    generator = torch.Generator().manual_seed(0)
    (x_train, labels_train), (x_test, labels_test) = _data(generator)
    y_train, y_test = torch.eye(SIZES[-1])[labels_train], torch.eye(SIZES[-1])[labels_test]
    torch.manual_seed(0)
    weights = [(torch.randn(n, m) / math.sqrt(m)).requires_grad_()
               for m, n in zip(SIZES, SIZES[1:], strict=False)]
    biases = [torch.randn(n).requires_grad_() for n in SIZES[1:]]
    costs = []

    def feedforward(a):
        for w, b in zip(weights, biases, strict=True):
            a = torch.sigmoid(a @ w.T + b)
        return a

    def train():
        for _ in range(EPOCHS):
            order = torch.randperm(len(x_train), generator=generator)
            for start in range(0, len(x_train), 10):
                index = order[start:start + 10]
                loss = cost(feedforward(x_train[index]), y_train[index])
                if penalty:
                    loss = loss + penalty * sum((w ** 2).sum() for w in weights)
                loss.backward()
                with torch.no_grad():
                    for t in weights + biases:
                        t -= lr * t.grad
                        t.grad = None
            with torch.no_grad():
                out = feedforward(x_test)
                (out.argmax(1) == labels_test).float().mean().item()
                if measure == "cost":
                    costs.append(cost(out, y_test).item())

    return record(train), costs


def _diagnosis(case):
    return diagnose_run(ScriptRun("nielsen", 0, "", case.trace, case.copies), budget=0)


@pytest.mark.parametrize("cost", [quadratic, cross_entropy])
def test_a_test_cost_written_by_hand_is_the_validation_curve(cost):
    case, costs = nielsen_run(cost=cost)
    passes = case.trace.validation_passes()
    assert [p.loss for p in passes] == pytest.approx(costs, rel=1e-5)
    assert [p.rows for p in passes] == [200] * EPOCHS
    assert case.trace.unscored_evaluation_steps == 0
    symptom = _diagnosis(case).symptom
    assert symptom is None or symptom.kind != "unscored"


def test_a_test_cost_left_without_the_training_penalty_is_still_the_validation_loss():
    """Training adds an L2 penalty on the weights; the test cost is the cost alone."""
    case, costs = nielsen_run(penalty=1e-3)
    assert [p.loss for p in case.trace.validation_passes()] == pytest.approx(costs, rel=1e-5)


def test_a_plain_tensor_network_followed_by_test_accuracy_alone_is_unscored():
    case, _ = nielsen_run(measure="accuracy")
    assert not case.trace.validation_passes()
    assert case.trace.unscored_evaluation_steps == EPOCHS
    diagnosis = _diagnosis(case)
    assert diagnosis.status != "healthy" and diagnosis.symptom.kind == "unscored"


def test_labels_an_accuracy_compared_with_are_no_validation_target_of_a_one_hot_cost():
    """``argmax(out) == labels`` pairs the evaluated rows with the labels; the cost trained on
    one-hot rows: a replay scoring those batches failed (929abff and before this: the learning
    rate, batch size and optimizer checks raised "size of tensor a (3) must match ...")."""
    case, _ = nielsen_run(measure="accuracy")
    trained = case.copies.train.batches[0].target
    assert all(b.target.shape[1:] == trained.shape[1:]
               for b in case.copies.validation.batches)


def test_a_learning_rate_too_low_shows_in_the_test_cost():
    """The broken twin (a rate 100 times too low): its test cost is seen, barely falling."""
    case, costs = nielsen_run(lr=0.005)
    passes = case.trace.validation_passes()
    assert [p.loss for p in passes] == pytest.approx(costs, rel=1e-5)
    assert passes[-1].loss > 0.9 * passes[0].loss


def test_a_plain_tensor_loss_is_replayed_at_the_scale_it_trained_on():
    """``sum / (2 * rows)`` on a model of plain tensors (loss_program.Scale, as for an
    nn.Module's hand-written loss): a replay on 64 rows divides by 2 x 64, as the script's
    function does. 929abff replayed the sum."""
    case, _ = nielsen_run(cost=euclidean)
    model = case.copies.initial_model
    assert isinstance(model, TensorModel) and isinstance(case.copies.replay_loss, LossProgram)
    generator = torch.Generator().manual_seed(0)
    _, (x_test, labels_test) = _data(generator)
    y = torch.eye(SIZES[-1])[labels_test[:64]]
    batch = Batch((x_test[:64],), {}, y, 64)
    with torch.no_grad():  # the copy gives the scores: the replayed loss takes the sigmoid
        assert float(case.copies.replay_loss.loss(model, batch)) == pytest.approx(
            float(euclidean(torch.sigmoid(model(x_test[:64])), y)), rel=1e-4)
