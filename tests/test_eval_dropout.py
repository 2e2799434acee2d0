"""Dropout left on in eval mode (checks/_eval_dropout.py): a dropout function called with
training=True, or without training= (its default is True), which model.eval() cannot reach.
Each shape has a twin that passes training=self.training, and must stay quiet; a model that
samples noise in eval mode by design (a VAE's latent) is not dropout."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import hand_written_loss, module_loss, record
from lossdoctor.checks.training_loop import TRAIN_EVAL_MODE, _left_on_confidence, check
from lossdoctor.findings import Experiment


def _data(rows=480, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 8, generator=generator)
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).long()
    return x, y


class _MLP(nn.Module):
    def __init__(self, left_on):
        super().__init__()
        self.left_on = left_on
        self.hidden, self.out = nn.Linear(8, 64), nn.Linear(64, 2)

    def forward(self, x):
        h = F.relu(self.hidden(x))
        h = F.dropout(h, 0.7) if self.left_on else F.dropout(h, 0.7, self.training)
        return self.out(h)


class _CNN(nn.Module):
    def __init__(self, left_on):
        super().__init__()
        self.left_on = left_on
        self.conv, self.bn, self.out = nn.Conv1d(1, 8, 3, padding=1), nn.BatchNorm1d(8), \
            nn.Linear(64, 2)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x[:, None, :])))
        h = F.dropout1d(h, 0.5, training=True if self.left_on else self.training)
        return self.out(h.flatten(1))


class _RNN(nn.Module):
    def __init__(self, left_on):
        super().__init__()
        self.left_on = left_on
        self.rnn, self.out = nn.GRU(1, 32, batch_first=True), nn.Linear(32, 2)

    def forward(self, batch):
        h = self.rnn(batch["x"][:, :, None])[0][:, -1]
        return self.out(F.dropout(h, 0.5, training=self.left_on or self.training))


def _fit(model, loss_of, batches, epochs=8, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train, validation = batches[:12], batches[12:]
    for _ in range(epochs):
        model.train()
        for batch in train:
            optimizer.zero_grad()
            loss_of(model, batch).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for batch in validation:
                loss_of(model, batch)


def _dict_loss(model, batch):
    return F.cross_entropy(model(batch), batch["y"])


def _case(cls, left_on):
    torch.manual_seed(0)
    x, y = _data()
    if cls is _RNN:
        batches, loss_of = [{"x": x[i:i + 32], "y": y[i:i + 32]} for i in range(0, 480, 32)], \
            _dict_loss
    else:
        batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 480, 32)]
        loss_of = module_loss if cls is _MLP else hand_written_loss
    if cls is _RNN:  # a GRU this small needs longer to learn at all
        return record(_fit, cls(left_on), loss_of, batches, epochs=20, lr=3e-2)
    return record(_fit, cls(left_on), loss_of, batches)


def _mode_findings(case):
    return [f for f in check(case) if f.cause is TRAIN_EVAL_MODE and f.confidence >= 0.5]


def test_dropout_left_on_in_eval_mode_is_found():
    for cls in (_MLP, _CNN, _RNN):
        [finding] = _mode_findings(_case(cls, left_on=True))
        assert "training=True" in finding.verdict, cls
        assert finding.experiment.after < 0.9 * finding.experiment.before, cls
        # the same rows scored twice: the outputs, not the flags (fresh24 s07)
        assert finding.evidence["validation_loss_scored_again"] != finding.experiment.before


def test_dropout_that_follows_the_models_mode_is_quiet():
    for cls in (_MLP, _CNN, _RNN):
        assert not _mode_findings(_case(cls, left_on=False)), cls


class _VAE(nn.Module):
    """A latent sampled in eval mode too, as many VAEs do: random by design, not dropout."""

    def __init__(self):
        super().__init__()
        self.encode, self.decode = nn.Linear(8, 4), nn.Linear(2, 8)

    def forward(self, x):
        mean, log_var = self.encode(x).chunk(2, dim=1)
        return self.decode(mean + torch.randn_like(mean) * (0.5 * log_var).exp())


def test_a_latent_sampled_in_eval_mode_is_not_dropout():
    torch.manual_seed(0)
    x, _ = _data()
    batches = [(x[i:i + 32], x[i:i + 32]) for i in range(0, 480, 32)]

    def mse(model, batch):
        return F.mse_loss(model(batch[0]), batch[1])

    assert not _mode_findings(record(_fit, _VAE(), mse, batches))


def test_dropout_left_on_that_costs_little_is_named_below_the_report_threshold():
    """Some models keep dropout on at inference by design (Tacotron 2's prenet, fresh24 s06):
    turning it off must take MEANINGFUL_IMPROVEMENT off the validation loss before it is a
    cause; below that it is named, dismissed."""
    assert _left_on_confidence(Experiment("off", 0.50, 0.48, 0)) < 0.5
    assert _left_on_confidence(Experiment("off", 0.50, 0.52, 0)) < 0.5
    assert _left_on_confidence(Experiment("off", 0.50, 0.40, 0)) >= 0.6
    # a relative gain: a model far below its constant guess gains little in absolute terms
    assert _left_on_confidence(Experiment("off", 0.068, 0.048, 0)) >= 0.6
