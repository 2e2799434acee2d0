import numpy as np
import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks._two_sample import MIN_AUC, two_sample_test
from lossdoctor.checks.train_val_shift import TRAIN_VAL_SHIFT, check
from lossdoctor.findings import Skip


def _rows(rows, seed, offset=0.0, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    y = (x[:, 0] - x[:, 1] > 0).long()
    x[:, 2] = x[:, 2] * scale + offset
    return x, y


def _case(validation, validation_loader=True):
    torch.manual_seed(0)
    model = mlp(6, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    if not validation_loader:
        return record(fit, model, optimizer, nn.CrossEntropyLoss(), _rows(800, 0),
                      (validation[0][:0], validation[1][:0]), epochs=3)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), _rows(800, 0), validation,
                  epochs=3)


def test_validation_inputs_offset_in_one_feature_are_found():
    [finding] = check(_case(_rows(300, 1, offset=3.0)))
    assert finding.cause is TRAIN_VAL_SHIFT
    assert finding.evidence["classifier_auc"] >= MIN_AUC
    assert finding.evidence["feature_of_mean_shift"] == 2
    assert finding.evidence["largest_mean_shift_sd"] > 2.5
    assert finding.confidence >= 0.9


def test_validation_inputs_on_another_scale_are_found():
    [finding] = check(_case(_rows(300, 1, scale=5.0)))
    assert finding.evidence["feature_of_scale_shift"] == 2
    assert finding.evidence["largest_scale_ratio"] > 3


def test_validation_from_the_same_distribution_is_quiet():
    assert check(_case(_rows(300, 1))) == []


def test_the_classifier_is_at_chance_on_one_distribution():
    rng = np.random.default_rng(0)
    aucs = [two_sample_test(rng.normal(size=(200, 5)), rng.normal(size=(200, 5)))[0]
            for _ in range(5)]
    assert max(aucs) < MIN_AUC


def test_skips_without_validation_batches():
    with pytest.raises(Skip, match="validation batches"):
        check(_case(_rows(300, 1), validation_loader=False))
