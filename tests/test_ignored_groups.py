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


def _pictures(rows=600, seed=0):
    """Three kinds of 16x16 pictures: bright spots, anywhere, in the kind's own colour."""
    generator = torch.Generator().manual_seed(seed)
    kind = torch.randint(0, 3, (rows,), generator=generator)
    x = 0.3 + 0.05 * torch.randn(rows, 3, 16, 16, generator=generator)
    for row in range(rows):
        for _ in range(5):
            r, c = torch.randint(2, 14, (2,), generator=generator).tolist()
            x[row, int(kind[row]), r - 2:r + 2, c - 2:c + 2] += 1.0
    return x, kind


def test_labels_detached_from_kinds_of_pictures_are_found_on_position_free_columns():
    """The spots' places are noise to a pixel's column; the kinds show in the pooled
    random-kernel responses, which k-means groups (fresh27 s05's kind of Dataset)."""
    torch.manual_seed(0)
    x, y = _pictures()
    y = y[torch.randperm(len(y))]
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 3))
    case = record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), (x[:480], y[:480]), (x[480:], y[480:]), epochs=2)
    [finding] = data_pipeline.check(case)
    assert finding.fix == PAIRING_FIX and finding.evidence["input_groups"] == 3


def test_gaussian_rows_of_one_column_are_not_well_separated():
    """k-means splits any data: on one gaussian column its silhouette passes 0.5, but no more
    than on the gaussian reference of the same spread."""
    rows = np.random.default_rng(0).standard_normal((600, 1))
    groups = input_groups(rows, np.zeros(600), classes=True)
    assert groups.silhouette > 0.5 and not well_separated(groups)
