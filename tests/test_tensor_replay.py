"""Replays of models written as plain tensors (``x @ w + b`` over tensors with requires_grad, a
``model(x)`` function over them, the optimizer built over the tensors): no nn.Module to copy,
so the training step is recorded as torch calls and replayed on copies of the tensors."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.overrides import _get_current_function_mode
from torch.utils.data import DataLoader, TensorDataset

from conftest import record
from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.checks import bad_init
from lossdoctor.checks._reinit import default_init
from lossdoctor.checks.learning_rate import LR_TOO_HIGH, check
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip


def tensor_mlp(inputs, hidden, outputs, seed=0, dropout=0.0):
    """A one-hidden-layer MLP as a user writes it without torch.nn: a list of tensors and a
    function over them."""
    torch.manual_seed(seed)
    sizes = [inputs, hidden, outputs]
    weights = [(torch.randn(a, b) * (2 / a) ** 0.5).requires_grad_()
               for a, b in zip(sizes, sizes[1:], strict=False)]
    biases = [torch.zeros(b, requires_grad=True) for b in sizes[1:]]

    def model(x):
        hidden_units = torch.relu(x @ weights[0] + biases[0])
        if dropout:
            hidden_units = F.dropout(hidden_units, dropout, training=torch.is_grad_enabled())
        return hidden_units @ weights[1] + biases[1]

    return model, weights + biases


def hand_written_cross_entropy(logits, target):
    return -torch.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).mean()


def tensor_fit(model, params, optimizer, loss_fn, train, validation, epochs=10, batch_size=32):
    """A training loop over a model written as tensors."""
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(TensorDataset(*train), batch_size=batch_size, shuffle=True,
                        generator=generator)
    history = []
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            history.append(loss_fn(model(validation[0]), validation[1]).item())
    return history


def classification_data(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 10, generator=generator)
    y = (x @ torch.randn(10, generator=generator) > 0).long()
    return (x[:400], y[:400]), (x[400:], y[400:])


def tensor_run(lr, loss_fn=F.cross_entropy, dropout=0.0):
    """The case of a plain-tensor MLP trained with Adam at ``lr``, and its tensors."""
    train, validation = classification_data()
    model, params = tensor_mlp(10, 32, 2, dropout=dropout)
    optimizer = torch.optim.Adam(params, lr=lr)
    case = record(tensor_fit, model, params, optimizer, loss_fn, train, validation)
    return case, model, params


def reported(findings):
    return {f.cause for f in findings if f.confidence >= REPORT_THRESHOLD}


@pytest.mark.parametrize("loss_fn", [F.cross_entropy, hand_written_cross_entropy])
def test_adam_at_lr_1_on_a_plain_tensor_mlp_is_too_high(loss_fn):
    case, _, _ = tensor_run(1.0, loss_fn)
    assert reported(check(case)) == {LR_TOO_HIGH}


def test_a_healthy_plain_tensor_run_gets_no_learning_rate_finding():
    case, _, _ = tensor_run(1e-2)
    assert reported(check(case)) == set()


def test_the_copy_starts_from_the_tensors_before_training_and_computes_the_model():
    train, validation = classification_data()
    model, params = tensor_mlp(10, 32, 2)
    initial = [p.detach().clone() for p in params]
    optimizer = torch.optim.Adam(params, lr=1e-2)
    case = record(tensor_fit, model, params, optimizer, F.cross_entropy, train, validation,
                  epochs=2)
    copy = case.copies.initial_model
    assert isinstance(copy, TensorModel)
    assert all(torch.equal(a, b) for a, b in zip(copy.parameters(), initial, strict=True))
    final = case.copies.final_model
    assert all(torch.equal(a, b) for a, b in zip(final.parameters(), params, strict=True))
    x = validation[0]
    with torch.no_grad():
        assert torch.allclose(final(x), model(x), atol=1e-6)
    assert case.replayer.ready
    # From the second step on, until an epoch brings no new row: all but a batch or two.
    assert 400 - 2 * 32 <= sum(b.rows for b in case.copies.train.batches) <= 400
    # The validation pass without gradients is seen as the model's evaluation: its rows are
    # paired with the targets its loss was given.
    kept = case.copies.validation.batches
    assert [b.rows for b in kept] == [112] and torch.equal(kept[0].args[0], validation[0])
    assert torch.equal(kept[0].target, validation[1])


def test_a_replay_leaves_the_users_tensors_gradients_and_random_state_alone():
    case, model, params = tensor_run(1e-2)
    values = [p.detach().clone() for p in params]
    grads = [p.grad.clone() for p in params]
    rng = torch.get_rng_state()
    replay = case.replayer.replay(Plan(steps=50))
    assert replay.train_losses[-1] < replay.train_losses[0]
    assert all(torch.equal(p, v) for p, v in zip(params, values, strict=True))
    assert all(torch.equal(p.grad, g) for p, g in zip(params, grads, strict=True))
    assert torch.equal(torch.get_rng_state(), rng)
    assert _get_current_function_mode() is None  # the recording left with the run


def test_a_model_that_draws_random_numbers_is_skipped_saying_why():
    case, _, _ = tensor_run(1e-2, dropout=0.5)
    with pytest.raises(Skip, match="plain tensors.*random numbers \\(dropout\\)"):
        case.require_replay()


def manual_sgd_fit(model, params, train, validation, lr=0.05, epochs=3, batch_size=50):
    """Updates by hand (``p -= lr * p.grad``), a hand-written MSE plus an L2 penalty."""
    for _ in range(epochs):
        for start in range(0, len(train[0]), batch_size):
            x, y = train[0][start:start + batch_size], train[1][start:start + batch_size]
            penalty = sum((p ** 2).sum() for p in params[:2])
            loss = ((model(x) - y) ** 2).mean() + 1e-4 * penalty
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad.zero_()
        with torch.no_grad():
            ((model(validation[0]) - validation[1]) ** 2).mean().item()


def test_updates_by_hand_and_a_penalty_on_the_tensors_are_replayed():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(600, 5, generator=generator)
    y = x @ torch.randn(5, 1, generator=generator)
    model, params = tensor_mlp(5, 16, 1)
    initial = [p.detach().clone() for p in params]
    case = record(manual_sgd_fit, model, params, (x[:500], y[:500]), (x[500:], y[500:]))
    copied = list(case.copies.initial_model.parameters())  # in the order backward found them
    assert len(copied) == len(initial)
    assert all(any(torch.equal(a, b) for a in copied) for b in initial)
    assert case.copies.optimizer_hparams == {"lr": pytest.approx(0.05)}
    replay = case.replayer.replay(Plan(steps=100))
    assert replay.validation_losses[-1] < 0.5 * replay.start_validation


class Scores(torch.nn.Module):
    """A model that answers every row with the same large scores."""

    def forward(self, x):
        return torch.tensor([50.0, -50.0]).expand(len(x), 2)


def test_a_hand_written_loss_after_a_softmax_scores_other_models_on_their_scores():
    """The loss's program starts at the model's scores, its log_softmax included: another
    model's scores cannot drive it below zero (given log probabilities, the rest of the loss,
    a mean of picked entries, would reward scores that grow without bound)."""
    case, model, _ = tensor_run(1e-2, hand_written_cross_entropy)
    replayer = case.replayer
    batch = replayer.validation_batches[0]
    assert replayer.predict(case.copies.final_model, batch).shape == (len(batch.target), 2)
    assert replayer.scores_any_model
    loss = replayer.evaluate(Scores(), replayer.validation_batches)
    ones = torch.cat([b.target for b in replayer.validation_batches]).float().mean().item()
    assert loss == pytest.approx(100.0 * ones, rel=1e-3)  # 100 per row of class 1, 0 else


def test_plain_tensors_initialized_to_a_constant_are_stuck_and_re_initialized_by_fan_in():
    train, validation = classification_data()
    model, params = tensor_mlp(10, 32, 2)
    with torch.no_grad():
        for weight in params[:2]:
            weight.fill_(0.05)
    optimizer = torch.optim.Adam(params, lr=1e-2)
    case = record(tensor_fit, model, params, optimizer, F.cross_entropy, train, validation,
                  epochs=1)
    initial = case.copies.initial_model
    assert bad_init.stuck_layers(initial) == ["tensor 0", "tensor 1"]  # units all alike
    fresh = default_init(initial)
    assert bad_init.stuck_layers(fresh) == []
    matrices, biases = list(fresh.parameters())[:2], list(fresh.parameters())[2:]
    for matrix in matrices:  # He initialization: N(0, 2 / fan_in)
        assert matrix.std().item() == pytest.approx((2 / matrix.shape[0]) ** 0.5, rel=0.25)
    assert all(not b.any() for b in biases)
    assert all(bool((t == 0.05).all()) for t in list(initial.parameters())[:2])  # untouched


def test_an_evaluation_with_a_hand_written_loss_gives_its_batch_and_target():
    """No loss call pairs it: the evaluation is recorded from the model's first call, and its
    target is the tensor that meets the prediction."""
    train, validation = classification_data()
    case, _, _ = tensor_run(1e-2, hand_written_cross_entropy)
    kept = case.copies.validation.batches
    assert [b.rows for b in kept] == [112] and torch.equal(kept[0].args[0], validation[0])
    assert torch.equal(kept[0].target, validation[1])


def test_a_penalty_on_a_bias_with_as_many_entries_as_the_batch_has_rows_is_replayed():
    """``(b ** 2).sum()`` of a 32-unit bias, batches of 32: the bias is a trained tensor, not
    a second tensor of the batch's."""
    train, validation = classification_data()
    model, params = tensor_mlp(10, 32, 2)
    optimizer = torch.optim.Adam(params, lr=1e-2)

    def penalized(logits, target):
        return F.cross_entropy(logits, target) + 1e-4 * sum((p ** 2).sum() for p in params)

    case = record(tensor_fit, model, params, optimizer, penalized, train, validation, epochs=2)
    assert case.copies.model_problem == ""
    assert case.replayer.ready


def hand_written_bce_with_logits(logit, target):
    return -(target * F.logsigmoid(logit) + (1 - target) * F.logsigmoid(-logit)).mean()


def test_a_bce_written_with_logsigmoid_is_known_as_bce_on_the_models_scores():
    """F.logsigmoid is recorded as "log_sigmoid": the prediction was taken after it, so the
    loss looked like no torch loss and labels 1 and 2 went unseen (dev 12083)."""
    train, validation = classification_data()
    model, params = tensor_mlp(10, 32, 1)

    def squeezed(x):
        return model(x).squeeze(1)

    optimizer = torch.optim.Adam(params, lr=1e-2)
    case = record(tensor_fit, squeezed, params, optimizer, hand_written_bce_with_logits,
                  (train[0], train[1].float()), (validation[0], validation[1].float()), epochs=2)
    assert case.trace.setup.loss_name.endswith("(like binary_cross_entropy_with_logits)")
    assert case.copies.prediction_shape == ()


def test_weights_in_linear_layout_and_labels_picked_from_the_whole_vector_are_replayed():
    """Nielsen-style code ported to tensors: ``a @ w.T + b`` with ``w`` of shape (out, in), and
    the batch picked inside the step (``x[idx]``, ``y[idx]``) from a label vector whose length
    is a multiple of the batch's rows, so it also reads as a flattened batch. The model's
    first call is ``w.T``: the step's input was taken to be ``x @ w.T`` (30 columns of
    pre-activations), and ``y`` besides ``y[idx]`` made two targets."""
    (x, y), validation = classification_data()
    torch.manual_seed(0)
    weights = [(torch.randn(32, 10) * (2 / 10) ** 0.5).requires_grad_(),
               (torch.randn(2, 32) * (2 / 32) ** 0.5).requires_grad_()]
    biases = [torch.zeros(32, requires_grad=True), torch.zeros(2, requires_grad=True)]

    def model(a):
        return torch.relu(a @ weights[0].T + biases[0]) @ weights[1].T + biases[1]

    def fit():
        optimizer = torch.optim.SGD(weights + biases, lr=0.1)
        for _ in range(3):
            order = torch.randperm(400)
            for start in range(0, 400, 20):
                index = order[start:start + 20]
                optimizer.zero_grad()
                F.cross_entropy(model(x[index]), y[index]).backward()
                optimizer.step()
            with torch.no_grad():
                F.cross_entropy(model(validation[0]), validation[1])

    case = record(fit)
    assert case.copies.model_problem == ""
    assert {b.args[0].shape[1] for b in case.copies.train.batches} == {10}  # the data's columns
    kept = case.copies.validation.batches
    assert [b.rows for b in kept] == [112] and torch.equal(kept[0].args[0], validation[0])
    fresh = default_init(case.copies.initial_model)
    first = next(fresh.parameters())  # (32, 10) read as w.T: 10 inputs per unit
    assert first.std().item() == pytest.approx((2 / 10) ** 0.5, rel=0.25)


def flattening_tensor_mlp(center_hidden=False, seed=0):
    """makemore's MLP written as tensors: three token ids looked up in an embedding table C,
    flattened with ``emb.view(emb.shape[0], -1)``: the batch size, a Python int, is recorded
    as a constant. ``center_hidden``: hidden units centred over the batch (a BatchNorm by
    hand), so rows meet."""
    torch.manual_seed(seed)
    table = torch.randn(10, 4).requires_grad_()
    w1 = (torch.randn(12, 32) * (2 / 12) ** 0.5).requires_grad_()
    w2 = (torch.randn(32, 2) * (2 / 32) ** 0.5).requires_grad_()

    def model(x):
        emb = table[x]
        hidden = torch.relu(emb.view(emb.shape[0], -1) @ w1)
        if center_hidden:
            hidden = hidden - hidden.mean(0, keepdim=True)
        return hidden @ w2

    return model, [table, w1, w2]


def flattening_run(center_hidden=False):
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 10, (512, 3), generator=generator)
    y = (x.sum(1) > 13).long()
    model, params = flattening_tensor_mlp(center_hidden)
    optimizer = torch.optim.Adam(params, lr=1e-2)
    case = record(tensor_fit, model, params, optimizer, F.cross_entropy,
                  (x[:400], y[:400]), (x[400:], y[400:]), epochs=2)
    return case, model, x[400:]


def test_a_tensor_model_with_its_batch_size_written_in_runs_on_batches_of_any_size():
    case, model, validation_x = flattening_run()
    final = case.copies.final_model
    assert final.rows == 32
    with torch.no_grad():  # 112 rows: three pieces of 32 and one of 16 filled up to 32
        assert torch.allclose(final(validation_x), model(validation_x), atol=1e-6)
    replay = case.replayer.replay(Plan(steps=20))  # evaluated on the 112-row validation batch
    assert len(replay.train_losses) == 20 and replay.validation_losses and all(
        math.isfinite(v) for v in replay.validation_losses)


def test_a_tensor_model_whose_rows_meet_is_not_run_in_pieces():
    case, _, _ = flattening_run(center_hidden=True)
    assert case.copies.final_model.rows is None


def test_a_plain_tensor_model_reading_its_weights_through_a_call_that_hands_them_back_replays():
    """``w.to("cpu")`` on the CPU returns ``w`` itself: the tape's entry for that tensor becomes
    the call's result, and a table of the trained tensors read from those entries lacked it
    ("running it again failed (KeyError ...)" on d056fab)."""
    train, validation = classification_data()
    model, params = tensor_mlp(10, 32, 2)

    def moved(x):
        return model(x.to("cpu")) + 0 * params[0].to("cpu").sum()

    optimizer = torch.optim.Adam(params, lr=1e-2)
    case = record(tensor_fit, moved, params, optimizer, F.cross_entropy, train, validation)
    case.require_replay()
    replay = case.replayer.replay(Plan(steps=50))
    assert replay.train_losses[-1] < replay.train_losses[0]
