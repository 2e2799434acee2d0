"""The constant guess of a model that computes its loss in ``forward``: the model with its output
layer zeroed and its bias fitted, scored by the model's own loss."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import record
from lossdoctor.symptom import symptom_of


class OwnLossRegressor(nn.Module):
    """``return prediction, loss`` as many scripts write it, with a smooth L1 loss (no closed
    form for its constant guess); ``skip`` adds the first input back after the output layer."""

    def __init__(self, hidden: int = 16, skip: bool = False):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 1)
        self.skip = skip

    def forward(self, x, target=None):
        out = self.head(self.body(x)).squeeze(1)
        if self.skip:
            out = out + x[:, 0]
        return out, F.smooth_l1_loss(out, target)


def _data(rows: int, generator: torch.Generator, signal: bool):
    x = torch.randn(rows, 4, generator=generator)
    noise = torch.randn(rows, generator=generator)
    y = 3.0 + (2.0 * x[:, 0] * x[:, 1] if signal else 2.0 * noise)
    return x, y


def _run(model: nn.Module, signal: bool = True, epochs: int = 6, lr: float = 0.01):
    """A run of ``epochs`` epochs with a validation pass each; targets offset by 3 and either a
    function of the inputs (``signal``) or noise the inputs cannot predict."""
    generator = torch.Generator().manual_seed(0)
    (x, y), (xv, yv) = _data(512, generator, signal), _data(256, generator, signal)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def train():
        for _ in range(epochs):
            model.train()
            for rows in torch.randperm(len(x)).split(32):
                optimizer.zero_grad()
                model(x[rows], y[rows])[1].backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                for rows in torch.arange(len(xv)).split(128):
                    model(xv[rows], yv[rows])

    return record(train)


def _best_constant_loss(train: torch.Tensor, scored: torch.Tensor) -> float:
    """The smooth L1 loss on ``scored`` of the constant that minimizes it on ``train``, by a
    fine grid search: an independent answer to what the fit must find."""
    grid = torch.linspace(float(train.min()), float(train.max()), 4001)
    costs = torch.stack([F.smooth_l1_loss(c.expand_as(train), train) for c in grid])
    best = grid[costs.argmin()]
    return float(F.smooth_l1_loss(best.expand_as(scored), scored))


def _targets(batches) -> torch.Tensor:
    return torch.cat([b.target for b in batches])


def test_a_model_computing_its_own_loss_gets_the_best_constant_as_its_constant_guess():
    case = _run(OwnLossRegressor(), signal=False, epochs=2)
    assert not case.replayer.scores_any_prediction  # the loss is the model's own
    train, validation = case.replayer.train_batches, case.replayer.validation_batches
    expected = _best_constant_loss(_targets(train[:8]), _targets(validation))
    assert case.constant_guess_loss("validation") == pytest.approx(expected, rel=0.01)


def test_a_model_whose_units_are_all_dead_still_gets_its_constant_guess():
    """Its output already ignores the inputs (every ReLU off, as in a one-unit bottleneck that
    died): the zeroed head is still a constant, and the best one is still fitted."""
    model = OwnLossRegressor()
    with torch.no_grad():
        model.body[0].bias.fill_(-100.0)
    case = _run(model, signal=True, epochs=2)
    train, validation = case.replayer.train_batches, case.replayer.validation_batches
    expected = _best_constant_loss(_targets(train[:8]), _targets(validation))
    assert case.constant_guess_loss("validation") == pytest.approx(expected, rel=0.01)


def test_a_head_with_the_inputs_added_back_after_it_gives_no_constant_guess():
    case = _run(OwnLossRegressor(skip=True), signal=False, epochs=2)
    assert case.constant_guess_loss("validation") is None


def test_a_run_at_chance_is_the_symptom_though_the_model_computes_its_own_loss():
    stuck = _run(OwnLossRegressor(), signal=False)
    guess = stuck.constant_guess_loss("validation")
    symptom = symptom_of(stuck.trace, None, guess)
    assert symptom is not None and symptom.kind in ("at_chance", "near_chance")
    assert "constant guess" in symptom.message


def test_a_healthy_twin_computing_its_own_loss_has_no_symptom():
    healthy = _run(OwnLossRegressor(hidden=64), signal=True, epochs=8)
    guess = healthy.constant_guess_loss("validation")
    assert guess is not None
    assert symptom_of(healthy.trace, None, guess) is None


class OwnLossWithScale(OwnLossRegressor):
    """A parameter kept on the model itself acts after the output layer, as a CRF's
    transition scores do: ``scale * tanh(out)``, which reaches the targets (about 3) only with
    the scale fitted too (it starts at 1)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x, target=None):
        out = self.scale * torch.tanh(self.head(self.body(x)).squeeze(1))
        return out, F.smooth_l1_loss(out, target)


def test_a_parameter_acting_after_the_output_layer_is_fitted_with_its_bias():
    """sequence_tagging_bilstm_crf_lr: the CRF's transitions left at their initial values made
    a constant guess of 13.8 where the best is about 7, and a fix read as too small against it."""
    case = _run(OwnLossWithScale(), signal=False, epochs=2)
    train, validation = case.replayer.train_batches, case.replayer.validation_batches
    expected = _best_constant_loss(_targets(train[:8]), _targets(validation))
    assert case.constant_guess_loss("validation") == pytest.approx(expected, rel=0.01)


class OwnLossTwoHeads(nn.Module):
    """Two output layers side by side on the same features, each scored by its own loss and
    the two added (a detector's heatmap and size heads): zeroing only the last one leaves the
    other reading the inputs."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU())
        self.first, self.second = nn.Linear(16, 1), nn.Linear(16, 1)

    def forward(self, x, target=None):
        features = self.body(x)
        first, second = self.first(features).squeeze(1), self.second(features).squeeze(1)
        return first, F.smooth_l1_loss(first, target) + F.smooth_l1_loss(second, target)


def test_a_model_with_two_heads_on_the_same_features_gets_both_zeroed_for_its_guess():
    case = _run(OwnLossTwoHeads(), signal=False, epochs=2)
    train, validation = case.replayer.train_batches, case.replayer.validation_batches
    expected = 2 * _best_constant_loss(_targets(train[:8]), _targets(validation))
    assert case.constant_guess_loss("validation") == pytest.approx(expected, rel=0.01)
