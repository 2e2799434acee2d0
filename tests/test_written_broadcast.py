"""A hand-written loss that broadcasts (N, 1) predictions against (N,) targets, found even when
the untrained model predicts one value for every row (dev column_output_flat_target 313219: a
CNN whose first predictions gave 1.0134 broadcast against 1.0114 matched, inside the likeness
tolerance, so the broadcast went unseen)."""

import pytest
import torch

from conftest import fit, mlp, record
from lossdoctor.checks.loss_setup import SHAPE_BROADCAST, check


def _data(rows=400, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    return x, x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2]


def _hand_mse(prediction, target):
    return ((prediction - target) ** 2).mean()


def _hand_mse_squeezed(prediction, target):
    return ((prediction.squeeze(-1) - target) ** 2).mean()


def _one_value_model():
    """An MLP whose output layer starts near zero (a common init): every row gets about 0.5."""
    torch.manual_seed(0)
    model = mlp(6, 16, 1)
    with torch.no_grad():
        model[-1].weight.mul_(1e-3)
        model[-1].bias.fill_(0.5)
    return model


def _run(loss_fn, y):
    x, _ = _data()
    model = _one_value_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    return record(fit, model, optimizer, loss_fn, (x[:300], y[:300]), (x[300:], y[300:]),
                  epochs=3)


def test_a_broadcast_is_found_when_the_untrained_model_predicts_one_value():
    _, value = _data()
    case = _run(_hand_mse, value)
    assert case.trace.setup.loss_name.endswith("(like mse_loss)")
    assert SHAPE_BROADCAST in {f.cause for f in check(case)}


@pytest.mark.parametrize("loss_fn, column", [(_hand_mse, True), (_hand_mse_squeezed, False)])
def test_matched_shapes_stay_quiet_when_the_untrained_model_predicts_one_value(loss_fn, column):
    _, value = _data()
    case = _run(loss_fn, value.unsqueeze(1) if column else value)
    assert check(case) == []
