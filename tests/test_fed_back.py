"""A training loop that feeds what one model call returned into the next call of the same step
(the char-RNN tutorial's loop over letters) cannot be replayed one call per step: lossdoctor
says so instead of replaying a single letter with its hidden state held fixed."""

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.capture.chained_model import Chained
from lossdoctor.capture.fed_back import FED_BACK
from lossdoctor.capture.train_split import signature
from lossdoctor.findings import Skip

LETTERS, CLASSES, HIDDEN, BATCH, LENGTH = 12, 4, 16, 8, 6


class LetterRNN(nn.Module):
    """Called once per letter with the hidden state (1, batch, hidden) of the call before."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(LETTERS, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, CLASSES)

    def forward(self, letter, hidden):
        output, hidden = self.rnn(letter.unsqueeze(1), hidden)
        return self.out(output[:, -1]), hidden


def _letters(rows, generator):
    labels = torch.randint(0, CLASSES, (rows,), generator=generator)
    ids = (labels[:, None] + torch.randint(0, 3, (rows, LENGTH), generator=generator)) % LETTERS
    return nn.functional.one_hot(ids, LETTERS).float(), labels


def _letter_loop(model, x, y, detach_between_letters=False):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for start in range(0, len(x), BATCH):
        hidden = torch.zeros(1, len(x[start:start + BATCH]), HIDDEN)
        optimizer.zero_grad()
        for t in range(LENGTH):
            if detach_between_letters:
                hidden = hidden.detach()
            logits, hidden = model(x[start:start + BATCH, t], hidden)
        nn.functional.cross_entropy(logits, y[start:start + BATCH]).backward()
        optimizer.step()


def _case(**options):
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x, y = _letters(96, generator)
    return record(_letter_loop, LetterRNN(), x, y, **options)


def test_a_state_fed_back_within_a_step_keeps_replays_from_running_and_says_why():
    case = _case()
    assert case.copies.replay_problem == FED_BACK
    assert not case.copies.train.batches
    with pytest.raises(Skip, match="loop over time steps"):
        case.require_replay()


def test_a_state_detached_before_each_call_is_data_and_replays_run():
    case = _case(detach_between_letters=True)
    assert case.copies.replay_problem == ""
    assert case.copies.train.batches and case.copies.train.batches[0].target is not None


def test_an_input_another_trained_module_computed_is_not_a_state_fed_back():
    """Features from an encoder outside the model reach the encoder's parameters, not the
    model's: not a state fed back. (Since session 29 the encoder and the head are replayed as
    one model on the encoder's inputs: capture/chained_model.py.)"""
    torch.manual_seed(0)
    encoder, head = nn.Linear(5, 8), nn.Linear(8, 2)
    x, y = torch.randn(64, 5), torch.randint(0, 2, (64,))
    optimizer = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.1)

    def train():
        for start in range(0, 64, 16):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(head(encoder(x[start:start + 16])),
                                               y[start:start + 16])
            loss.backward()
            optimizer.step()

    case = record(train)
    assert case.copies.replay_problem == ""
    assert isinstance(case.copies.initial_model, Chained)


def test_one_hot_letters_are_compared_by_the_letters_they_encode():
    """Eight values of a one-hot row hold at most one 1: compared as values, any split's
    letters matched the training letters, and a char-RNN's every validation pass was taken
    for an evaluation of the training data."""
    generator = torch.Generator().manual_seed(0)
    one_letter = nn.functional.one_hot(torch.randint(0, LETTERS, (8,), generator=generator),
                                       LETTERS).float()
    assert signature((one_letter,), {}) is None  # one letter a row: a category, like an id
    words, _ = _letters(8, generator)
    ids = words.argmax(-1)
    assert torch.equal(signature((words,), {})[0].short, signature((ids,), {})[0].short)
