"""An encoder and a head kept as two modules, both trained (one optimizer over both, or one
each): replays train a copy of the pair as one model on the encoder's inputs
(capture/chained_model.py). On 913d42e every replay of such a run was skipped (the head's
inputs came from a trained module), so none of the tests that replay can pass there. Chains
that are not simple keep the skip and its reason."""

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.capture.chained_model import CHAIN_BROKEN, UNLIKE_OPTIMIZERS, Chained
from lossdoctor.capture.upstream import UPSTREAM
from lossdoctor.checks import learning_rate
from lossdoctor.findings import Skip

FEATURES, CLASSES = 8, 3


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(FEATURES, 24), nn.Linear(24, 12)

    def forward(self, x):
        return self.second(torch.relu(self.first(x)))


class _Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(12, 24), nn.Linear(24, CLASSES)

    def forward(self, h):
        return self.second(torch.relu(self.first(torch.relu(h))))


def _data(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(640, FEATURES, generator=generator)
    y = (x @ torch.randn(FEATURES, CLASSES, generator=generator)).argmax(1)
    return x, y


def _pair_run(lr=1e-2, kind=torch.optim.Adam, two=True, head_lr=None, glue=None,
              epochs=4, head_alone_in_validation=False):
    """The pair's training loop: batches of 32 of 512 rows, the last 128 validated once an
    epoch. ``glue`` is called between the two modules."""
    torch.manual_seed(0)
    encoder, head = _Encoder(), _Head()
    if two:
        optimizers = [kind(encoder.parameters(), lr=lr),
                      kind(head.parameters(), lr=head_lr or lr)]
    else:
        optimizers = [kind([*encoder.parameters(), *head.parameters()], lr=lr)]
    x, y = _data()
    criterion = nn.CrossEntropyLoss()

    def forward(rows):
        features = encoder(rows)
        return head(glue(features) if glue is not None else features)

    def run():
        for _ in range(epochs):
            for start in range(0, 512, 32):
                for optimizer in optimizers:
                    optimizer.zero_grad()
                criterion(forward(x[start:start + 32]), y[start:start + 32]).backward()
                for optimizer in optimizers:
                    optimizer.step()
            with torch.no_grad():
                if head_alone_in_validation:
                    criterion(head(torch.randn(128, 12)), y[512:])
                else:
                    criterion(forward(x[512:]), y[512:])

    return run


@pytest.mark.parametrize("two", [True, False], ids=["an optimizer each", "one optimizer"])
def test_an_encoder_and_a_head_are_replayed_as_one_model_on_the_encoders_inputs(two):
    case = record(_pair_run(two=two))
    assert case.copies.replay_problem == ""
    assert isinstance(case.copies.initial_model, Chained)
    assert isinstance(case.copies.final_model, Chained)
    batch = case.replayer.train_batches[0]
    assert batch.args[0].shape == (32, FEATURES)  # the encoder's inputs, not its features
    baseline = case.baseline
    assert baseline.final_validation < 0.6 * baseline.start_validation  # both parts train


def test_the_pair_as_the_run_left_it_scores_its_last_validation_pass():
    case = record(_pair_run())
    last = case.trace.validation_passes()[-1].loss
    assert case.replayer.evaluate(case.copies.final_model,
                                  case.replayer.validation_batches) == pytest.approx(last,
                                                                                     rel=1e-4)


def test_a_pair_trained_at_a_rate_far_too_low_is_found_with_a_fix_replayed_on_both():
    """913d42e: every replay skipped (the upstream reason), so nothing was found."""
    case = record(_pair_run(lr=1e-4, kind=torch.optim.SGD, epochs=3))
    found = [f for f in learning_rate.check(case) if f.confidence >= 0.5]
    assert [f.cause.id for f in found] == ["lr_too_low"]


def test_a_pair_at_a_healthy_rate_draws_no_rate_finding():
    case = record(_pair_run())
    assert not [f for f in learning_rate.check(case) if f.confidence >= 0.5]


def test_a_parameter_free_step_between_the_two_keeps_replays_skipped():
    """The head is given torch.relu of the features, not the encoder's output itself: the
    chain is not one lossdoctor can replay, and it says so as before."""
    case = record(_pair_run(glue=torch.relu))
    assert case.copies.replay_problem == UPSTREAM
    assert not isinstance(case.copies.initial_model, Chained)
    with pytest.raises(Skip, match="also trains the module"):
        case.require_replay()


def test_two_optimizers_of_different_rates_keep_replays_skipped_with_the_reason():
    case = record(_pair_run(head_lr=1e-3))
    assert case.copies.replay_problem == UNLIKE_OPTIMIZERS


def test_a_head_also_called_on_other_inputs_keeps_replays_skipped():
    case = record(_pair_run(head_alone_in_validation=True))
    assert case.copies.replay_problem == CHAIN_BROKEN
    assert not isinstance(case.copies.initial_model, Chained)
    kept = case.copies.train.batches + case.copies.validation.batches
    assert kept and all(b.args[0].shape[1] == 12 for b in kept)  # the head's own inputs, alone


def test_a_head_after_a_frozen_encoder_is_replayed_alone_on_its_features():
    """The encoder does not train (called without gradients): the head's replays on the
    features held fixed stand, as before."""
    torch.manual_seed(0)
    encoder, head = _Encoder(), _Head()
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    x, y = _data()

    def run():
        for start in range(0, 512, 32):
            optimizer.zero_grad()
            with torch.no_grad():
                features = encoder(x[start:start + 32])
            nn.functional.cross_entropy(head(features), y[start:start + 32]).backward()
            optimizer.step()

    case = record(run)
    assert case.copies.replay_problem == ""
    assert not isinstance(case.copies.initial_model, Chained)
    assert case.replayer.train_batches[0].args[0].shape == (32, 12)


def test_an_encoder_given_what_a_third_trained_module_computed_keeps_replays_skipped():
    """Three modules in a row (a stem, the encoder, the head): the encoder's inputs are not
    batch tensors, and the pair cannot stand for the run."""
    torch.manual_seed(0)
    stem, encoder, head = nn.Linear(FEATURES, FEATURES), _Encoder(), _Head()
    optimizer = torch.optim.Adam([*stem.parameters(), *encoder.parameters(),
                                  *head.parameters()], lr=1e-2)
    x, y = _data()

    def run():
        for start in range(0, 512, 32):
            optimizer.zero_grad()
            logits = head(encoder(stem(x[start:start + 32])))
            nn.functional.cross_entropy(logits, y[start:start + 32]).backward()
            optimizer.step()

    case = record(run)
    assert case.copies.replay_problem == UPSTREAM
    assert not isinstance(case.copies.initial_model, Chained)
