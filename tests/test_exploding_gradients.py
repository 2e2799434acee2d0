import pytest
import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks.exploding_gradients import (
    EXPLODING_GRADIENTS,
    GROWTH_DECADES,
    check,
    clipped,
)
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


class IdentityRNN(nn.Module):
    """A ReLU RNN with identity recurrence, read out at the last step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(1, 32, nonlinearity="relu", batch_first=True)
        nn.init.eye_(self.rnn.weight_hh_l0)
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def _sequences(rows, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 30, 1, generator=generator)
    return x, x[:, :10, 0].mean(dim=1, keepdim=True) * 3


def test_an_unclipped_relu_rnn_whose_gradients_spike_is_found_and_clipping_fixes_it():
    torch.manual_seed(0)
    model = IdentityRNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    case = record(fit, model, optimizer, nn.MSELoss(), _sequences(800, 0), _sequences(300, 1),
                  epochs=5)
    [finding] = check(case)
    assert finding.cause is EXPLODING_GRADIENTS
    assert finding.evidence["spike_decades"] >= GROWTH_DECADES
    assert finding.experiment.after < 0.7 * finding.experiment.before
    assert "clip_grad_norm_" in finding.verdict


def test_a_healthy_mlp_is_quiet():
    torch.manual_seed(0)
    x = torch.randn(1000, 6)
    y = (x[:, 0] - x[:, 1] > 0).long()
    model = mlp(6, 16, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    case = record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:800], y[:800]),
                  (x[800:], y[800:]), epochs=5)
    assert check(case) == []


def test_the_clipped_optimizer_clips_before_it_steps():
    weight = nn.Parameter(torch.zeros(2))
    optimizer = clipped(torch.optim.SGD, 1.0)([weight], lr=1.0)
    weight.grad = torch.tensor([30.0, 40.0])
    optimizer.step()
    assert torch.allclose(weight.detach(), torch.tensor([-0.6, -0.8]))


def test_skips_without_gradients():
    with pytest.raises(Skip, match="gradient norms"):
        check(Case(Trace(), Copies()))


def test_a_replay_that_blew_up_is_said_in_words_not_as_inf():
    from lossdoctor.checks.exploding_gradients import _loss_words

    assert _loss_words(float("inf")) == "a loss that blew up (inf or NaN)"
    assert _loss_words(0.984) == "0.984"


def test_gradient_norms_in_the_verdict_are_written_as_the_report_writes_numbers():
    """exploding_gradients_rnn: 'their norm reached 1.36e+04, against 275 at the start'."""
    from lossdoctor.checks.exploding_gradients import _norm_words

    assert [_norm_words(v) for v in (13612.4, 275.2, 1.03, 3.2e7)] == [
        "13,612", "275", "1.03", "3.2e+07"]
