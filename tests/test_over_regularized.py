import pytest
import torch
from torch import nn

from conftest import fit, record
from lossdoctor.capture.copies import Copies
from lossdoctor.case import Case
from lossdoctor.checks.over_regularized import (
    OVER_REGULARIZED,
    check,
    dropout_rates,
    without_dropout,
)
from lossdoctor.diagnosis import REPORT_THRESHOLD
from lossdoctor.experiments import Replayer
from lossdoctor.findings import Skip
from lossdoctor.trace import Trace


def learnable_run(dropout=0.0, weight_decay=0.0, seed=0):
    """An MLP on a nonlinear classification task it can learn, with the given regularization."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 8, generator=generator)
    y = ((x[:, 0] * x[:, 1] + x[:, 2]) > 0).long()
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=weight_decay)
    return record(fit, model, optimizer, nn.CrossEntropyLoss(), (x[:500], y[:500]),
                  (x[500:], y[500:]), epochs=5)


def reported(findings):
    return [f for f in findings if f.confidence >= REPORT_THRESHOLD]


@pytest.mark.parametrize("dropout, weight_decay", [(0.0, 0.5), (0.9, 0.0)])
def test_strong_regularization_is_found_and_taking_it_away_fixes_validation(dropout,
                                                                             weight_decay):
    [finding] = reported(check(learnable_run(dropout, weight_decay)))
    assert finding.cause is OVER_REGULARIZED
    assert finding.evidence["progress_share"] < 2 / 3
    assert finding.evidence["train_loss_after"] < 0.8 * finding.evidence["train_loss_before"]
    assert finding.experiment.after < 0.9 * finding.experiment.before
    assert ("weight decay" in finding.fix) == (weight_decay > 0)
    assert ("dropout" in finding.fix) == (dropout > 0)


def test_the_verdict_names_the_steps_the_replay_took_when_the_budget_shortened_it(monkeypatch):
    """'replayed 300 steps' above 'experiment (253 steps on copies)' when the budget shortened
    the replay (over_regularized_dropout_cnn); and '3 layers', not '3 layer(s)'."""
    monkeypatch.setattr(Replayer, "sized", lambda self, steps: min(steps, 120))
    [finding] = reported(check(learnable_run(0.9, 0.0)))
    assert f"replayed {finding.experiment.steps} steps" in finding.verdict
    assert finding.experiment.steps == 120
    assert "(s)" not in finding.verdict


@pytest.mark.parametrize("dropout, weight_decay", [(0.0, 0.0), (0.1, 1e-4), (0.3, 0.0)])
def test_usual_regularization_is_not_blamed(dropout, weight_decay):
    assert reported(check(learnable_run(dropout, weight_decay))) == []


def test_dropout_is_read_from_layers_and_attention_and_turned_off_on_a_copy():
    model = nn.Sequential(nn.Dropout(0.5), nn.MultiheadAttention(8, 2, dropout=0.2))
    assert dropout_rates(model) == {"0": 0.5, "1": 0.2}
    assert dropout_rates(without_dropout(model)) == {}
    assert dropout_rates(model) == {"0": 0.5, "1": 0.2}


def test_skips_without_an_optimizer_step():
    with pytest.raises(Skip, match="optimizer step"):
        check(Case(Trace(), Copies()))
