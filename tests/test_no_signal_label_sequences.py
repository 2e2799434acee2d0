"""no_signal on CTC's label sequences: each row's sequence read as which labels it holds."""

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.capture.sample import Batch
from lossdoctor.checks import no_signal
from lossdoctor.checks._label_sequences import asked_labels, presence_batches
from lossdoctor.checks.no_signal import NO_SIGNAL
from lossdoctor.findings import Skip

CLASSES, STEPS, FEATURES = 5, 24, 6


def _sequences(rows, generator):
    """Inputs with a bump in feature ``label`` wherever each of 1-3 labels stands: the label
    sequence is read from the input, in order."""
    x = 0.3 * torch.randn(rows, STEPS, FEATURES, generator=generator)
    targets = []
    for row in range(rows):
        labels = torch.randint(1, CLASSES, (int(torch.randint(1, 4, (), generator=generator)),),
                               generator=generator)
        for place, label in enumerate(labels.tolist()):
            x[row, 2 + 7 * place:6 + 7 * place, label] += 2.0
        targets.append(labels)
    return x, targets


class _Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(FEATURES, 16, 5, padding=2)
        self.out = nn.Linear(16, CLASSES)

    def forward(self, x):
        hidden = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.out(hidden).log_softmax(-1)


def _ctc_case(shuffled: bool, padded: bool, seed=0, rows=240, train_rows=150):
    generator = torch.Generator().manual_seed(seed)
    x, targets = _sequences(rows, generator)
    if shuffled:  # each row given another row's sequence (labels joined on the wrong key)
        targets = [targets[i] for i in torch.randperm(rows, generator=generator).tolist()]
    torch.manual_seed(seed)
    model, ctc = _Tagger(), nn.CTCLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def loss(rows_here):
        sequences = [targets[i] for i in rows_here]
        target = (nn.utils.rnn.pad_sequence(sequences, batch_first=True) if padded
                  else torch.cat(sequences))
        log_probs = model(x[rows_here]).transpose(0, 1)
        return ctc(log_probs, target, [STEPS] * len(rows_here), [len(t) for t in sequences])

    def train():
        for _ in range(3):  # batches drawn anew each epoch
            order = torch.randperm(train_rows, generator=generator).tolist()
            for start in range(0, train_rows, 30):
                optimizer.zero_grad()
                loss(order[start:start + 30]).backward()
                optimizer.step()
            with torch.no_grad():
                for start in range(train_rows, rows, 30):
                    loss(list(range(start, min(start + 30, rows))))

    return record(train)


@pytest.mark.parametrize("padded", [True, False])
def test_fires_when_ctc_label_sequences_are_shuffled_across_rows(padded):
    [finding] = no_signal.check(_ctc_case(shuffled=True, padded=padded))
    assert finding.cause is NO_SIGNAL and finding.confidence >= 0.5
    assert "sequence holds label" in finding.verdict


@pytest.mark.parametrize("padded", [True, False])
def test_quiet_when_the_label_sequences_are_read_from_the_inputs(padded):
    assert no_signal.check(_ctc_case(shuffled=False, padded=padded)) == []


def test_presence_is_asked_first_of_the_label_held_by_about_half_the_rows():
    padded = torch.tensor([[1, 2, 0], [1, 0, 0], [3, 0, 0], [1, 3, 3], [1, 4, 0]])
    batch = Batch(args=(torch.zeros(5, 2),), kwargs={}, target=padded, rows=5)
    # label 3 is in 2 rows of 5, label 1 in 4, labels 2 and 4 in 1 (a tie kept in label order)
    assert asked_labels([batch]) == [3, 2, 4]
    [asked] = presence_batches([batch], 3)
    assert asked.target.tolist() == [0, 0, 1, 1, 0]


def test_a_concatenated_target_without_its_lengths_is_skipped():
    batch = Batch(args=(torch.zeros(2, 2),), kwargs={}, target=torch.tensor([1, 2, 3]), rows=2)
    with pytest.raises(Skip):
        asked_labels([batch])
