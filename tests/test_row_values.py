"""Plain numbers a loss is given one per batch row (CTC's lengths, pack_padded_sequence's):
read from each replayed batch, never frozen as the recorded batch's (capture/row_values.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from conftest import record
from lossdoctor.capture import row_values
from lossdoctor.capture.row_values import RowValues, RowValuesMissing
from lossdoctor.capture.sample import Batch
from lossdoctor.checks import validation_path
from lossdoctor.checks._rebatch import pooled, rebatch
from lossdoctor.experiments import Replayer
from lossdoctor.findings import Skip

FEATURES, CHARS = 6, 4  # class 0 is CTC's blank


def _utterances(count: int, generator: torch.Generator) -> list:
    """Sequences of 2 to 4 characters, each held for 3 to 5 frames of its template plus noise."""
    templates = torch.randn(CHARS + 1, FEATURES, generator=generator) * 2
    items = []
    for _ in range(count):
        chars = torch.randint(1, CHARS + 1, (int(torch.randint(2, 5, (1,),
                                                               generator=generator)),),
                              generator=generator)
        frames = torch.cat([templates[c].repeat(int(torch.randint(3, 6, (1,),
                                                                  generator=generator)), 1)
                            for c in chars])
        items.append((frames + 0.3 * torch.randn(frames.shape, generator=generator), chars))
    return items


def _batches(items: list, size: int, kind: type = list) -> list:
    """Padded batches with their lengths as Python lists (or tuples), as a collate function
    returns them."""
    batches = []
    for start in range(0, len(items), size):
        chunk = items[start:start + size]
        batches.append((pad_sequence([x for x, _ in chunk], batch_first=True),
                        pad_sequence([y for _, y in chunk], batch_first=True),
                        kind(len(x) for x, _ in chunk), kind(len(y) for _, y in chunk)))
    return batches


class Recognizer(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(FEATURES, 12, batch_first=True)
        self.out = nn.Linear(12, CHARS + 1)

    def forward(self, x):
        return self.out(self.gru(x)[0])


def _ctc(model, x, y, input_lengths, label_lengths, validating: bool = False,
         wrong: bool = False):
    """The CTC loss; ``wrong`` validation normalizes over the frames instead of the classes."""
    scores = F.log_softmax(model(x), dim=1 if wrong and validating else 2)
    return nn.CTCLoss()(scores.transpose(0, 1), y, input_lengths, label_lengths)


def _fit_ctc(wrong_validation: bool = False, epochs: int = 3, kind: type = list) -> list[float]:
    """Training batches of 8, validation batches of 6: another size, other lengths."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    train, validation = _batches(_utterances(48, generator), 8, kind), _batches(
        _utterances(18, generator), 6, kind)
    model = Recognizer()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(epochs):
        model.train()
        for batch in train:
            optimizer.zero_grad()
            _ctc(model, *batch).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            losses.append(sum(_ctc(model, *b, validating=True, wrong=wrong_validation).item()
                              for b in validation) / len(validation))
    return losses


@pytest.fixture(scope="module")
def ctc_case():
    return record(_fit_ctc)


LENGTHS = RowValues("ctc_loss", 0, ("arg", 2))
LABEL_LENGTHS = RowValues("ctc_loss", 0, ("arg", 3))


def test_each_kept_batch_holds_the_lengths_its_own_loss_was_given(ctc_case):
    assert not ctc_case.copies.loss_problem
    kept = ctc_case.copies.train.batches + ctc_case.copies.validation.batches
    assert {b.rows for b in kept} == {8, 6}
    for batch in kept:
        labels = [int(n) for n in (batch.target > 0).sum(1)]
        assert list(batch.row_values[LABEL_LENGTHS]) == labels
        assert len(batch.row_values[LENGTHS]) == batch.rows


def _last_validation_losses(case) -> list[float]:
    evaluations = [r for r in case.trace.losses if r.phase == "eval"]
    return [r.value for r in evaluations if r.step == evaluations[-1].step]


def _replayed_validation_losses(case) -> list[float]:
    replayer = Replayer(case.copies)
    model = replayer.placed(case.copies.final_model).eval()
    with torch.no_grad():
        return [float(replayer.scored_loss(model, b)) for b in replayer.validation_batches]


def test_a_replay_scores_validation_batches_of_another_size_with_their_own_lengths(ctc_case):
    assert _replayed_validation_losses(ctc_case) == pytest.approx(
        _last_validation_losses(ctc_case), rel=1e-4)


def test_lengths_given_as_tuples_are_read_from_each_batch_too():
    case = record(_fit_ctc, epochs=1, kind=tuple)
    assert _replayed_validation_losses(case) == pytest.approx(_last_validation_losses(case),
                                                              rel=1e-4)


def test_a_batch_without_its_lengths_is_not_scored_with_another_batchs(ctc_case):
    replayer = Replayer(ctc_case.copies)
    batch = replace(replayer.validation_batches[0], row_values={})
    with pytest.raises(RowValuesMissing, match="one per row"):
        replayer.evaluate(ctc_case.copies.final_model, [batch])


def _kept(lengths: list[int]) -> Batch:
    """A kept batch whose loss was given ``lengths``, its target each row's length."""
    rows = len(lengths)
    return Batch((torch.zeros(rows, 3),), {}, torch.tensor(lengths), rows,
                 row_values={LENGTHS: tuple(lengths)})


def test_batches_cut_and_joined_anew_keep_the_lengths_of_their_rows():
    joined = pooled([_kept([3, 4, 5]), _kept([6, 7, 8, 9])])
    assert joined.row_values == {LENGTHS: (3, 4, 5, 6, 7, 8, 9)}
    for cut in rebatch(joined, 3):
        assert list(cut.row_values[LENGTHS]) == cut.target.tolist()


def test_batches_joined_with_one_that_holds_no_lengths_hold_none():
    without = replace(_kept([1, 2]), row_values={})
    assert pooled([_kept([3, 4, 5]), without]).row_values == {}


def test_validation_path_is_quiet_on_a_ctc_validation_computed_as_training_is(ctc_case):
    assert validation_path.check(ctc_case) == []


def test_validation_path_finds_a_ctc_validation_normalized_over_the_frames():
    case = record(_fit_ctc, wrong_validation=True)
    assert [f.cause.id for f in validation_path.check(case)] == ["validation_path"]


def _fit_packed(epochs: int = 3) -> list[float]:
    """A tagger whose loss scores the real tokens only, packed by a lengths list."""
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    items = [(x, (x.argmax(1) + 1) % CHARS) for x, _ in _utterances(40, generator)]
    train, validation = _batches(items[:32], 8), _batches(items[32:], 4)
    model = nn.Sequential(nn.Linear(FEATURES, 16), nn.ReLU(), nn.Linear(16, CHARS))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def loss_of(x, y, lengths, _):
        scores = pack_padded_sequence(model(x), lengths, batch_first=True, enforce_sorted=False)
        tags = pack_padded_sequence(y, lengths, batch_first=True, enforce_sorted=False)
        return F.cross_entropy(scores.data, tags.data)

    losses = []
    for _ in range(epochs):
        for batch in train:
            optimizer.zero_grad()
            loss_of(*batch).backward()
            optimizer.step()
        with torch.no_grad():
            losses.append(sum(loss_of(*b).item() for b in validation) / len(validation))
    return losses


def test_a_loss_on_packed_sequences_replays_each_batch_with_its_own_lengths():
    case = record(_fit_packed)
    assert not case.copies.loss_problem
    assert all(b.target.shape[0] == b.rows for b in case.copies.validation.batches)
    assert _replayed_validation_losses(case) == pytest.approx(_last_validation_losses(case),
                                                              rel=1e-4)


@pytest.mark.parametrize(("value", "rows", "per_row"), [
    ([3, 4, 5], 3, True), ((2.0, 0.5), 2, True), ([3, 4, 5], 4, False), ([7], 1, False),
    ([True, False], 2, False), (torch.Size([2, 3]), 2, False), ([1, "a"], 2, False)])
def test_a_list_of_numbers_is_per_row_only_with_one_number_per_row(value, rows, per_row):
    assert row_values.per_row_numbers(value, rows) is per_row


def test_validation_path_reports_nothing_from_validation_batches_without_their_lengths():
    case = record(_fit_ctc, wrong_validation=True)
    for batch in case.copies.validation.batches:
        batch.row_values = {}
    with pytest.raises(Skip, match="one per row"):
        validation_path.check(case)
