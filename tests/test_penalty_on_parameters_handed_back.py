"""A hand-written loss whose penalty reads each weight through a call that hands the parameter
back as it is (``w.to("cpu")`` on the CPU, as Keras 3's l2 regularizer on the torch backend
does), and adds its terms as Keras adds a compiled loss and its layers' penalties:
``sum(stack([data, *penalties]))``.

On f88cc73 such a loss could not be replayed (bench/fresh29 s06): the call's result took the
parameter's place in the tape, so re-running the program missed the parameter's name
(KeyError), every replay-based check was skipped, and the penalty was not seen as one.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from conftest import fit, mlp, record
from lossdoctor.capture.loss_program import LossProgram

PENALTY = 0.01


def _recorded(moved: bool, stacked: bool):
    torch.manual_seed(0)
    model = mlp(4, 16, 3)

    def loss_fn(output, y):
        data = F.cross_entropy(output, y)
        weights = [w.to("cpu") if moved else w for w in (model[0].weight, model[2].weight)]
        penalties = [PENALTY * torch.sum(torch.square(w)) for w in weights]
        if stacked:
            return torch.sum(torch.stack([data, *penalties]))
        return data + penalties[0] + penalties[1]

    x = torch.randn(320, 4)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=0.01), loss_fn,
                  (x[:256], y[:256]), (x[256:], y[256:]), epochs=3)


def _replayed_and_by_hand(case):
    batch = case.copies.train.batches[0]
    heavier = copy.deepcopy(case.copies.initial_model)
    with torch.no_grad():
        heavier[0].weight.mul_(10.0)
        replayed = float(case.replayer.loss(heavier, batch))
        data = float(F.cross_entropy(heavier(batch.args[0]), batch.target))
        penalty = PENALTY * sum(float(heavier[i].weight.pow(2).sum()) for i in (0, 2))
    return replayed, data, penalty


def test_a_penalty_on_weights_handed_back_by_to_replays_on_the_copys_weights():
    case = _recorded(moved=True, stacked=True)
    assert isinstance(case.copies.replay_loss, LossProgram), case.copies.loss_problem
    replayed, data, penalty = _replayed_and_by_hand(case)
    assert penalty > 0.1 * data
    assert math.isclose(replayed, data + penalty, rel_tol=1e-5)


def test_the_stacked_sum_of_a_data_term_and_penalties_is_a_penalized_loss():
    """The data term is what taking the penalty away (over_regularized) replays."""
    case = _recorded(moved=True, stacked=True)
    data_term = case.copies.replay_loss.without_penalty()
    assert data_term is not None
    _, data, _ = _replayed_and_by_hand(case)
    heavier = copy.deepcopy(case.copies.initial_model)
    batch = case.copies.train.batches[0]
    with torch.no_grad():
        heavier[0].weight.mul_(10.0)
        assert math.isclose(float(data_term.loss(heavier, batch)), data, rel_tol=1e-5)


def test_the_plain_sum_twin_still_has_its_penalty_taken_away():
    case = _recorded(moved=False, stacked=False)
    assert isinstance(case.copies.replay_loss, LossProgram)
    assert case.copies.replay_loss.without_penalty() is not None
    replayed, data, penalty = _replayed_and_by_hand(case)
    assert math.isclose(replayed, data + penalty, rel_tol=1e-5)
