"""Labels detached from inputs that fall into well separated groups, in both splits, are a
pairing fault (data_pipeline); random labels on inputs without groups stay no_signal's
(tests/test_data_pipeline.py, test_labels_unpredictable_everywhere_are_left_to_no_signal)."""

import numpy as np
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks import data_pipeline, no_signal
from lossdoctor.checks._ignored_groups import PAIRING_FIX, well_separated
from lossdoctor.checks._input_groups import input_groups


def _grouped(rows=1000, kinds=3, seed=0):
    """Rows around one profile per kind, the profiles far apart; the kind is the label."""
    generator = torch.Generator().manual_seed(seed)
    profiles = 9.0 * torch.linalg.qr(torch.randn(8, 8, generator=generator))[0][:kinds]
    y = torch.randint(0, kinds, (rows,), generator=generator)
    return profiles[y] + torch.randn(rows, 8, generator=generator), y


def _run(detached: bool):
    torch.manual_seed(0)
    x, y = _grouped()
    if detached:  # labels in file order, inputs shuffled: each row gets another's label
        y = y[torch.randperm(len(y))]
    model = mlp(8, 16, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=3)


def test_labels_detached_from_grouped_inputs_in_both_splits_are_a_pairing_fault():
    case = _run(detached=True)
    [finding] = data_pipeline.check(case)
    assert finding.cause.id == "data_pipeline" and finding.fix == PAIRING_FIX
    assert "structure that your labels ignore" in finding.verdict
    assert finding.evidence["input_groups"] == 3
    assert no_signal.check(case)  # still true: nothing predicts them (shown as consequence)


def test_labels_kept_with_their_grouped_inputs_are_quiet():
    assert data_pipeline.check(_run(detached=False)) == []


def test_gaussian_rows_of_one_column_are_not_well_separated():
    """k-means splits any data: on one gaussian column its silhouette passes 0.5, but no more
    than on the gaussian reference of the same spread."""
    rows = np.random.default_rng(0).standard_normal((600, 1))
    groups = input_groups(rows, np.zeros(600), classes=True)
    assert groups.silhouette > 0.5 and not well_separated(groups)
