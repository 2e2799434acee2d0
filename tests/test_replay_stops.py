"""A replay whose question is answered ends there: the capacity check's long run stops once the
user's model has fit its training data as well as the larger model predicts unseen data."""

import torch
from torch import nn

from conftest import fit, mlp, record
from lossdoctor.checks import underfit_capacity
from lossdoctor.experiments import Plan


def _case():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(240, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    model = mlp(4, 16, 2)
    return record(fit, model, torch.optim.Adam(model.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), (x[:200], y[:200]), (x[200:], y[200:]), epochs=3)


def test_a_replay_ends_at_the_first_validation_point_where_stop_when_says_so():
    replayer = _case().replayer
    asked = []

    def answered(losses):
        asked.append(len(losses))
        return len(losses) >= 60

    result = replayer.replay(Plan(steps=300, evaluations=10, stop_when=answered))
    assert asked == [30, 60] and len(result.train_losses) == 60
    assert len(result.validation_losses) == 2


def test_the_long_run_of_a_model_that_fits_stops_early_and_reports_where():
    replayer = _case().replayer
    evidence = underfit_capacity._long_run(replayer, {}, fits_at=10.0)
    assert evidence["long_run_steps"] == underfit_capacity.REPLAY_STEPS
    never = underfit_capacity._long_run(replayer, {}, fits_at=-1.0)
    assert never["long_run_steps"] == underfit_capacity.LONG_RUN_FACTOR * (
        underfit_capacity.REPLAY_STEPS)


def test_a_fix_experiment_starts_its_curves_at_step_0():
    from lossdoctor.checks._fix import fix_experiment

    replayer = _case().replayer
    before = replayer.replay(Plan(steps=60, evaluations=3))
    after = replayer.replay(Plan(steps=60, evaluations=3, lr=1e-3))
    experiment = fix_experiment("a lower lr", before, after, steps=60)
    assert experiment.curve_steps == [0, 20, 40, 60]
    assert experiment.curve_before[0] == experiment.curve_after[0] == before.start_validation
    assert experiment.curve_before[1:] == before.validation_losses
