"""Time-major batches (fresh26 s06: an LSTM given (time, batch, features), a label per time
step): the first dimension holds time steps of the same few examples, not examples. Read as
rows, the label mix of each batch "varied" as segments of one utterance do (a false alarm of
data_pipeline on a shuffled healthy run), and the row-reversal test reversed time."""

import numpy as np
import torch
from torch import nn

from conftest import record
from lossdoctor.checks.data_pipeline import check

CLASSES, FEATURES, STEPS = 6, 10, 50


def _utterances(count, rng, means):
    """Sequences of STEPS frames in 5 segments of one label each, stacked time-major."""
    inputs, labels = [], []
    for _ in range(count):
        bounds = np.sort(rng.choice(np.arange(3, STEPS - 3), size=4, replace=False))
        frame_labels = np.zeros(STEPS, dtype=np.int64)
        start = 0
        for end in [*bounds, STEPS]:
            frame_labels[start:end] = rng.integers(CLASSES)
            start = end
        y = torch.from_numpy(frame_labels)
        inputs.append(means[y] + torch.randn(STEPS, FEATURES))
        labels.append(y)
    return torch.stack(inputs, 1), torch.stack(labels, 1)


class _Tagger(nn.Module):
    def __init__(self, batch_first=False):
        super().__init__()
        self.lstm = nn.LSTM(FEATURES, 32, batch_first=batch_first)
        self.out = nn.Linear(32, CLASSES)

    def forward(self, x):
        return self.out(self.lstm(x)[0])


def _loop(model, optimizer, loss_fn, train, validation, sort=False, flat=True):
    x_train, y_train = train
    if sort:  # utterances in the order of their mean label, never shuffled
        order = torch.argsort(y_train.float().mean(0))
        x_train, y_train = x_train[:, order], y_train[:, order]

    def loss_of(x, y):
        logits = model(x)
        if flat:
            return loss_fn(logits.reshape(-1, CLASSES), y.reshape(-1))
        return loss_fn(logits.permute(1, 2, 0), y.t())

    for _ in range(4):
        order = torch.arange(x_train.size(1)) if sort else torch.randperm(x_train.size(1))
        for start in range(0, x_train.size(1), 8):
            index = order[start:start + 8]
            optimizer.zero_grad()
            loss_of(x_train[:, index], y_train[:, index]).backward()
            optimizer.step()
        with torch.no_grad():
            loss_of(*validation)


def _run(sort=False, flat=True):
    torch.manual_seed(0)
    means = torch.randn(CLASSES, FEATURES) * 1.5
    rng = np.random.default_rng(0)
    train, validation = _utterances(96, rng, means), _utterances(16, rng, means)
    model = _Tagger()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return record(_loop, model, optimizer, nn.CrossEntropyLoss(), train, validation,
                  sort=sort, flat=flat)


def test_shuffled_time_major_batches_are_read_by_utterance_and_are_quiet():
    case = _run()
    assert check(case) == []  # 5d515c6: "the mix varies 7 times more", a false alarm
    from lossdoctor.checks._examples import TIME_FIRST, example_axis
    assert example_axis(case) == TIME_FIRST


def test_time_major_outputs_scored_unflattened_keep_their_rows():
    case = _run(flat=False)
    assert check(case) == []  # 5d515c6: time steps reversed, "outputs do not stay with their rows"
    from lossdoctor.checks._examples import TIME_FIRST, example_axis
    assert example_axis(case) == TIME_FIRST


def test_time_major_utterances_sorted_by_label_are_still_found():
    [finding] = check(_run(sort=True))
    assert "sorted by label" in finding.verdict
    assert finding.evidence["batches_compared"] >= 5


def _batch_major_loop(model, optimizer, loss_fn, train, validation):
    (x, y), (x_val, y_val) = train, validation
    for _ in range(2):
        for start in range(0, x.size(0), 8):
            optimizer.zero_grad()
            loss_fn(model(x[start:start + 8]).reshape(-1, CLASSES),
                    y[start:start + 8].reshape(-1)).backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(x_val).reshape(-1, CLASSES), y_val.reshape(-1))


def test_batch_first_sequences_keep_their_rows_as_examples():
    torch.manual_seed(0)
    means = torch.randn(CLASSES, FEATURES) * 1.5
    rng = np.random.default_rng(0)
    (x, y), (x_val, y_val) = _utterances(48, rng, means), _utterances(16, rng, means)
    model = _Tagger(batch_first=True)
    case = record(_batch_major_loop, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), (x.transpose(0, 1), y.t()),
                  (x_val.transpose(0, 1), y_val.t()))
    from lossdoctor.checks._examples import EXAMPLES_FIRST, example_axis
    assert example_axis(case) == EXAMPLES_FIRST


class _Classifier(nn.Module):
    """A GRU reading (time, batch, features), one label per sequence from its last state."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(FEATURES, 16)
        self.out = nn.Linear(16, CLASSES)

    def forward(self, x):
        return self.out(self.gru(x)[0][-1])


def _classifier_loop(model, optimizer, loss_fn, train, validation, sort=False):
    (x, y), (x_val, y_val) = train, validation
    if sort:
        order = torch.argsort(y, stable=True)
        x, y = x[order], y[order]
    for _ in range(3):
        order = torch.arange(len(y)) if sort else torch.randperm(len(y))
        for start in range(0, len(y), 16):
            index = order[start:start + 16]
            optimizer.zero_grad()
            loss_fn(model(x[index].transpose(0, 1)), y[index]).backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(x_val.transpose(0, 1)), y_val)


def _classifier_run(sort=False):
    """92 sequences of 12 steps in batches of 16: the last batch holds 12, as many as steps."""
    torch.manual_seed(0)
    means = torch.randn(CLASSES, FEATURES)
    y, y_val = torch.randint(0, CLASSES, (92,)), torch.randint(0, CLASSES, (40,))
    x = means[y][:, None] + torch.randn(92, 12, FEATURES)
    x_val = means[y_val][:, None] + torch.randn(40, 12, FEATURES)
    model = _Classifier()
    return record(_classifier_loop, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), (x, y), (x_val, y_val), sort=sort)


def test_a_last_batch_of_as_many_sequences_as_steps_is_not_reversed_in_time():
    # 5d515c6: only that batch led every tensor with one size, and its steps were reversed
    assert check(_classifier_run()) == []


def test_time_major_sequences_sorted_by_label_are_found_by_their_labels():
    [finding] = check(_classifier_run(sort=True))  # 5d515c6: not read (12 steps, 16 labels)
    assert "sorted by label" in finding.verdict


def test_time_major_batches_are_not_cut_into_batches_of_other_sizes():
    """Cut by rows, a (T, B, ...) batch's time steps became batches: batch_size's replays of
    them took most of fresh26 s06's diagnosis and measured nothing of the user's batches."""
    import pytest

    from lossdoctor.checks import batch_size
    from lossdoctor.checks._rebatch import pooled_training
    from lossdoctor.findings import Skip

    case = _run()
    with pytest.raises(Skip, match="time steps first"):
        pooled_training(case)
    with pytest.raises(Skip, match="time steps first"):
        batch_size.check(case)
