"""A ReLU at the output fed to a loss on probabilities is a loss mismatch, and the dead output
unit it leaves is its consequence (checks/_relu_probabilities.py, loss_setup)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import fit, record
from lossdoctor.checks import dead_relu, loss_setup
from lossdoctor.checks.loss_setup import LOSS_MISMATCH
from lossdoctor.diagnosis import rank


def _clipped_bce(output, target):
    """Keras' binary_crossentropy on probabilities, as its torch backend computes it."""
    return F.binary_cross_entropy(output.clamp(1e-7, 1 - 1e-7).squeeze(1), target)


def _rows(generator, rows):
    x = torch.randn(rows, 10, generator=generator)
    return x, (x[:, :3].sum(1) > 0).float()


def _case(head: nn.Module, loss=_clipped_bce, seed=0):
    """Dense layers, the last one's weights small and its bias -1: its output starts below 0
    for every row, so a ReLU there is dead from the first step (far more than at PyTorch's
    default initialization)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    last = nn.Linear(64, 1)
    with torch.no_grad():
        last.weight.uniform_(-0.05, 0.05)
        last.bias.fill_(-1.0)
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), last, head)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return record(fit, model, optimizer, loss, _rows(generator, 600),
                  _rows(generator, 200), epochs=4)


def _mismatches(findings):
    return [f for f in findings if f.cause is LOSS_MISMATCH and f.confidence >= 0.5]


def test_a_relu_output_fed_to_a_probability_loss_is_a_mismatch_whose_fix_is_replayed():
    case = _case(nn.ReLU())
    [found] = _mismatches(loss_setup.check(case))
    assert found.evidence["outputs_at_zero"] == 1.0
    assert found.experiment.after < 0.5 * found.experiment.before  # a sigmoid there learns
    assert "ReLU" in found.verdict and "sigmoid" in found.fix


@pytest.mark.slow
def test_the_dead_output_unit_follows_the_mismatch():
    case = _case(nn.ReLU())
    dead = dead_relu.check(case)
    assert dead and dead[0].evidence["dead_fraction_late"] == 1.0  # the output unit
    ranked = rank(loss_setup.check(case) + dead)
    assert ranked[0].cause is LOSS_MISMATCH
    assert all(LOSS_MISMATCH.id in f.explained_by for f in ranked[1:])


def test_quiet_when_the_output_is_a_sigmoid():
    assert _mismatches(loss_setup.check(_case(nn.Sigmoid()))) == []


def test_not_said_of_a_relu_output_the_loss_computation_squashes_first():
    """sigmoid(relu(z)): the loss gets probabilities of 0.5 or more, another rule's to say."""
    def sigmoid_then_bce(output, target):
        return F.binary_cross_entropy(torch.sigmoid(output).squeeze(1), target)

    findings = loss_setup.check(_case(nn.ReLU(), loss=sigmoid_then_bce))
    assert not any("comes out of a ReLU" in f.verdict for f in findings)
