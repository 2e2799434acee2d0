"""Token ids the model looks up in an embedding table are read by no_signal's learners as words
counted, not as numbers at their positions (checks/_looked_up.py, checks/_tabular.py)."""

import numpy as np
import pytest
import torch
from torch import nn

from conftest import fit, record
from lossdoctor.checks import no_signal
from lossdoctor.checks._looked_up import looked_up_inputs
from lossdoctor.checks.no_signal import NO_SIGNAL

VOCAB, LENGTH, CLASSES, MARKERS, MENTIONS = 400, 30, 3, 12, 4


def _documents(rows, generator, markers):
    """Documents of LENGTH ids from a VOCAB-word vocabulary, MENTIONS of them words of their
    class's MARKERS, anywhere: which words a document holds decides its class, not where."""
    labels = torch.randint(0, CLASSES, (rows,), generator=generator)
    ids = torch.randint(1, VOCAB, (rows, LENGTH), generator=generator)
    places = torch.rand(rows, LENGTH, generator=generator).argsort(dim=1)[:, :MENTIONS]
    picks = torch.randint(0, MARKERS, (rows, MENTIONS), generator=generator)
    ids.scatter_(1, places, markers[labels.unsqueeze(1), picks])
    return ids, labels


class _Classifier(nn.Module):
    """Embeddings averaged, then a linear layer; ``float_ids``: fed float ids it casts, as
    Keras' Embedding is."""

    def __init__(self, float_ids=False):
        super().__init__()
        self.float_ids = float_ids
        self.embed, self.head = nn.Embedding(VOCAB, 8), nn.Linear(8, CLASSES)

    def forward(self, ids):
        ids = ids.long() if self.float_ids else ids
        return self.head(self.embed(ids).mean(1))


def _documents_case(random_labels=False, float_ids=False, seed=0):
    """Trained far too slowly to learn (SGD at 1e-4): only the learners can see a signal."""
    generator = torch.Generator().manual_seed(seed)
    markers = torch.randperm(VOCAB - 1, generator=generator)[:CLASSES * MARKERS].add(1)
    ids, labels = _documents(900, generator, markers.reshape(CLASSES, MARKERS))
    if random_labels:
        labels = torch.randint(0, CLASSES, (900,), generator=generator)
    ids = ids.float() if float_ids else ids
    torch.manual_seed(seed)
    model = _Classifier(float_ids)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (ids[:600], labels[:600]),
                  (ids[600:], labels[600:]), epochs=2)


def _no_signal(case):
    return [f for f in no_signal.check(case) if f.cause is NO_SIGNAL and f.confidence >= 0.5]


@pytest.mark.parametrize("float_ids", [False, True])
def test_ids_looked_up_in_an_embedding_are_found(float_ids):
    assert looked_up_inputs(_documents_case(float_ids=float_ids)) == frozenset({(0, 0)})


def test_whole_number_features_a_linear_layer_reads_are_not_ids():
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (300, 12), generator=generator).float()  # pixel values
    y = (x[:, 0] > 128).long()
    model = nn.Linear(12, 2)
    case = record(fit, model, torch.optim.SGD(model.parameters(), lr=1e-4),
                  nn.CrossEntropyLoss(), (x[:200], y[:200]), (x[200:], y[200:]), epochs=1)
    assert looked_up_inputs(case) == frozenset()


@pytest.mark.parametrize("float_ids", [False, True])
def test_words_that_decide_the_class_anywhere_in_the_text_are_signal(float_ids):
    """Read as numbers at their positions, 4 marker words among 30 ids of a 400-word
    vocabulary predicted nothing, and labels the documents decide were not called
    predictable."""
    assert no_signal.check(_documents_case(float_ids=float_ids)) == []


@pytest.mark.slow
def test_fires_on_documents_with_random_labels():
    [finding] = _no_signal(_documents_case(random_labels=True, float_ids=True))
    assert finding.evidence["p_value"] >= no_signal.ALPHA


def test_counts_stand_beside_the_ids_own_columns():
    from lossdoctor.checks._contest import learner_tables
    from lossdoctor.checks._tabular import MAX_COLUMNS

    train, _ = learner_tables(_documents_case(), "classification")
    assert train.features.shape[1] == LENGTH + MAX_COLUMNS  # the ids, then counts folded
    assert np.all(train.features[:, LENGTH:].sum(axis=1) == LENGTH)
