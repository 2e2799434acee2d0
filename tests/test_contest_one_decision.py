"""One decision for "nothing can predict these labels" (checks/_label_signal.py): no_signal says
it, and dead_relu (units killed while nothing could be learned) and data_pipeline (labels that
ignore the groups their inputs fall into) read it, so that neither calls the labels
unpredictable where no_signal does not, nor the reverse."""

import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks import data_pipeline, dead_relu, no_signal
from test_no_signal import _radial_case as _radial


def test_too_few_rows_to_learn_from_do_not_leave_units_nothing_to_learn():
    """30 training rows: no_signal says they are too few to show the labels are unpredictable.
    On 913d42e dead_relu's shortened copy of no_signal's decision (no row count) called them
    unpredictable: nothing_to_learn True."""
    case = _radial(train_rows=30)
    [finding] = no_signal.check(case)
    assert "too few to learn from" in finding.verdict
    assert not dead_relu.nothing_to_learn(case)


def test_labels_drawn_at_random_are_unpredictable_to_every_reader():
    """The twin: labels drawn at random on 800 gaussian rows. no_signal reports them, dead_relu
    reads the same, and data_pipeline stays quiet (the rows fall into no groups)."""
    from lossdoctor.checks._label_signal import UNPREDICTABLE, label_signal

    torch.manual_seed(0)
    x, y = torch.randn(1000, 8), torch.randint(0, 3, (1000,))
    model = mlp(8, 16, 3)
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), (x[:800], y[:800]), (x[800:], y[800:]), epochs=3)
    assert label_signal(case).outcome == UNPREDICTABLE
    assert [f.cause.id for f in no_signal.check(case)] == ["no_signal"]
    assert dead_relu.nothing_to_learn(case)
    assert data_pipeline.check(case) == []


def test_the_radius_on_enough_rows_is_predicted_for_every_reader():
    from lossdoctor.checks._label_signal import PREDICTED, label_signal

    case = _radial(train_rows=400)
    assert label_signal(case).outcome == PREDICTED
    assert no_signal.check(case) == [] and not dead_relu.nothing_to_learn(case)
