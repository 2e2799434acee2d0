"""One forward over every row, scored on index subsets (a graph network's output[idx_train] and,
under no_grad in eval mode, output[idx_val]): the validation losses are a validation curve, not
an evaluation of the training data; and a run whose checks could not get validation rows is
not called healthy (fresh22 s11: called healthy with no validation pass seen)."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.capture.scored_rows import ScoredRows, other_rows, scored_rows
from lossdoctor.case import NO_VALIDATION_ROWS
from lossdoctor.script_run import ScriptRun
from lossdoctor.verdict import diagnose_run

NODES, FEATURES, CLASSES = 300, 20, 3


class TinyGCN(nn.Module):
    """Two graph convolutions over a normalized adjacency, full batch."""

    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(FEATURES, 16), nn.Linear(16, CLASSES)

    def forward(self, x, adj):
        hidden = F.relu(adj @ self.first(x))
        return F.log_softmax(adj @ self.second(hidden), dim=1)


def _graph():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, CLASSES, (NODES,), generator=generator)
    same = (labels[:, None] == labels[None, :]).float()
    adj = (torch.rand(NODES, NODES, generator=generator) < 0.02 + 0.05 * same).float()
    adj = ((adj + adj.t()) > 0).float() + torch.eye(NODES)
    adj = adj / adj.sum(1, keepdim=True)
    centers = torch.randn(CLASSES, FEATURES, generator=generator)
    features = centers[labels] + torch.randn(NODES, FEATURES, generator=generator)
    return features, adj, labels


def _gcn_fit(validate_on: str, epochs: int = 60, select=lambda output, rows: output[rows]):
    """Kipf's train.py loop: each epoch a training forward scored on idx_train, then a forward
    under no_grad in eval mode scored on idx_val (or, for the twin, on idx_train again: a
    training-split estimate). ``select`` takes the scored rows of the output."""
    torch.manual_seed(0)
    features, adj, labels = _graph()
    idx_train, idx_val = torch.arange(0, 60), torch.arange(60, 200)
    scored = idx_val if validate_on == "val" else idx_train
    model = TinyGCN()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        F.nll_loss(select(output, idx_train), labels[idx_train]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            output = model(features, adj)
            F.nll_loss(select(output, scored), labels[scored])


def _index_selected(output, rows):
    """Rows taken by index_select, not by indexing: no selection the kept batches can hold
    (capture/row_selection.py reads ``output[rows]``), so no replay scores the validation."""
    return output.index_select(0, rows)


def test_a_loss_on_other_rows_of_the_training_forward_is_a_validation_pass():
    trace = record(_gcn_fit, "val").trace
    passes = trace.validation_passes()
    assert len(passes) == 60 and passes[0].source == "loss calls"
    assert not [r for r in trace.losses if r.phase == "train_eval"]


def test_a_loss_on_the_training_rows_under_no_grad_is_still_a_training_estimate():
    trace = record(_gcn_fit, "train").trace
    assert not trace.validation_passes()
    assert len([r for r in trace.losses if r.phase == "train_eval"]) == 60


def test_rows_are_found_by_value_and_rows_alike_are_not_counted():
    output = torch.arange(12.0).reshape(6, 2)
    output[5] = output[4]  # two rows alike: neither can say which one a loss took
    found = scored_rows(output[torch.tensor([0, 2, 4])], [lambda: output])
    assert found == ScoredRows(6, frozenset({0, 2}))
    assert scored_rows(output, [lambda: output]) is None  # the whole output
    assert scored_rows(output[:3] * 2, [lambda: output]) is None  # computed from it


def test_other_rows_needs_rows_training_scored_of_an_output_of_the_same_size():
    trained = {6: {0, 1, 2}}
    assert other_rows(ScoredRows(6, frozenset({3, 4})), trained)
    assert not other_rows(ScoredRows(6, frozenset({1, 2, 4})), trained)
    assert not other_rows(ScoredRows(8, frozenset({3, 4})), trained)
    assert not other_rows(None, trained)


def test_a_run_whose_checks_got_no_validation_rows_is_not_called_healthy():
    case = record(_gcn_fit, "val", select=_index_selected)
    diagnosis = diagnose_run(ScriptRun("gcn", 0, "", case.trace, case.copies), budget=60)
    skipped = [o for o in diagnosis.outcomes if o.reason == NO_VALIDATION_ROWS]
    assert skipped
    assert diagnosis.status != "healthy"
    if not diagnosis.causes:
        assert diagnosis.symptom.kind == "untested"
        assert f"{len(skipped)} checks" in diagnosis.symptom.message


def _gcn_fit_without_validation(epochs: int = 60):
    torch.manual_seed(0)
    features, adj, labels = _graph()
    idx_train = torch.arange(0, 60)
    model = TinyGCN()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        optimizer.zero_grad()
        F.nll_loss(model(features, adj)[idx_train], labels[idx_train]).backward()
        optimizer.step()


def test_a_run_without_any_validation_pass_is_judged_on_its_training_curve():
    """Untested is for validation passes no replay can score; with none at all the checks that
    need validation rows skip as before, and a training curve that learned is healthy (three
    healthy fixed twins of the corpus were called untested)."""
    case = record(_gcn_fit_without_validation)
    diagnosis = diagnose_run(ScriptRun("gcn", 0, "", case.trace, case.copies), budget=60)
    assert any(o.reason == NO_VALIDATION_ROWS for o in diagnosis.outcomes)
    assert diagnosis.symptom is None or diagnosis.symptom.kind != "untested"
