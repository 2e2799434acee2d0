"""The steady state of ordinary steps (capture/steady_steps.py) records what the full handlers
record: the same trace, step by step, on loops that leave it (evaluations, metrics, a loss
inside the model, a loop without zero_grad) and come back."""

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lossdoctor.capture import Recorder, loss_events, steady_steps, watching

EPOCHS = 12


def _classification(recorder: Recorder) -> None:
    """A DataLoader loop, a loss module, a StepLR, validation under no_grad each epoch."""
    torch.manual_seed(0)
    x, y = torch.randn(256, 10), torch.randint(0, 3, (256,))
    loader = DataLoader(TensorDataset(x[:192], y[:192]), batch_size=8, shuffle=True)
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        model.train()
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()
        schedule.step()
        model.eval()
        with torch.no_grad():
            loss_fn(model(x[192:]), y[192:])


def _regression_with_metric(recorder: Recorder) -> None:
    """A functional loss, a metric on the same output, validation with gradients on, and
    epochs without zero_grad."""
    torch.manual_seed(1)
    x = torch.randn(160, 6)
    y = x @ torch.randn(6, 1)
    model = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(EPOCHS * 2):
        for start in range(0, 128, 16):
            if epoch % 5:
                optimizer.zero_grad()
            out = model(x[start:start + 16])
            loss = F.mse_loss(out, y[start:start + 16])
            F.l1_loss(out, y[start:start + 16])  # a metric
            loss.backward()
            optimizer.step()
        F.mse_loss(model(x[128:]), y[128:])


def _classification_with_metrics(recorder: Recorder) -> None:
    """Metrics beside the training loss before backward: a loss on the detached output (every
    other step before the training loss), the loss module again under no_grad, accuracy and
    the loss read with .item()."""
    torch.manual_seed(3)
    x, y = torch.randn(256, 10), torch.randint(0, 3, (256,))
    model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        for start in range(0, 192, 16):
            inputs, targets = x[start:start + 16], y[start:start + 16]
            optimizer.zero_grad()
            out = model(inputs)
            if start % 32:
                F.nll_loss(out.detach().log_softmax(1), targets)
            loss = loss_fn(out, targets)
            with torch.no_grad():
                loss_fn(out, targets)
            (out.argmax(1) == targets).float().mean().item()
            loss.item()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(x[192:]), y[192:])


def _small_batches(recorder: Recorder) -> None:
    """Batches of four over 1,024 rows: the data sample wants most batches of the first epoch
    (each waits for its target at the loss call)."""
    torch.manual_seed(4)
    x = torch.randn(1100, 8)
    y = (x[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(x[:1024], y[:1024]), batch_size=4, shuffle=True)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(2):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()
        with torch.no_grad():
            loss_fn(model(x[1024:]), y[1024:])


class _ReturnsItsLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
        self.loss_fn = nn.CrossEntropyLoss()

    def forward(self, x, y):
        return self.loss_fn(self.net(x), y)


def _loss_inside_model(recorder: Recorder) -> None:
    torch.manual_seed(2)
    x, y = torch.randn(96, 5), torch.randint(0, 2, (96,))
    model = _ReturnsItsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(EPOCHS * 3):
        for start in range(0, 96, 12):
            optimizer.zero_grad()
            model(x[start:start + 12], y[start:start + 12]).backward()
            optimizer.step()


def _recorded(loop, steady: bool, monkeypatch) -> tuple[str, Recorder, int]:
    monkeypatch.setattr(steady_steps, "STEADY", steady)
    taken = [0]
    counted = steady_steps.SteadySteps.steady_step_finished

    def counting(self, optimizer):
        taken[0] += 1
        counted(self, optimizer)

    monkeypatch.setattr(steady_steps.SteadySteps, "steady_step_finished", counting)
    recorder = Recorder()
    with watching(recorder):
        loop(recorder)
    trace, copies = recorder.finish()
    recorded = [trace.to_dict(), _kept(copies.train), _kept(copies.validation)]
    return json.dumps(recorded, sort_keys=True, default=str), recorder, taken[0]


def _kept(sample) -> list:
    """The batches the data sample kept for the replays: step, rows and target."""
    return [(batch.step, batch.rows, batch.keys, repr(batch.target)) for batch in sample.batches]


@pytest.mark.parametrize("loop", [_classification, _regression_with_metric, _loss_inside_model,
                                  _classification_with_metrics, _small_batches])
def test_steady_steps_record_what_the_full_handlers_record(loop, monkeypatch):
    full, _, none_taken = _recorded(loop, False, monkeypatch)
    steady, recorder, taken = _recorded(loop, True, monkeypatch)
    assert none_taken == 0
    assert recorder.internal_errors == []
    assert steady == full


def test_losses_left_on_the_device_are_recorded_alike(monkeypatch):
    """As on an accelerator (no device read at once): values read together, later."""
    monkeypatch.setattr(loss_events, "READ_AT_ONCE", frozenset())
    full, _, _ = _recorded(_classification, False, monkeypatch)
    steady, recorder, taken = _recorded(_classification, True, monkeypatch)
    assert taken > recorder.trace.steps / 2
    assert steady == full


def test_an_ordinary_plain_loop_step_is_taken_by_the_steady_state(monkeypatch):
    _, recorder, taken = _recorded(_classification, True, monkeypatch)
    assert taken > recorder.trace.steps / 2, (taken, recorder.trace.steps)


@pytest.mark.parametrize("loop", [_regression_with_metric, _classification_with_metrics])
def test_metrics_beside_the_training_loss_keep_steps_steady(loop, monkeypatch):
    """A loss call besides the one trained on (with gradients, on a detached output, under
    no_grad) is held with it; the step stays in the steady state."""
    _, recorder, taken = _recorded(loop, True, monkeypatch)
    assert taken > recorder.trace.steps / 2, (taken, recorder.trace.steps)


def test_batches_kept_for_the_replays_keep_steps_steady(monkeypatch):
    _, recorder, taken = _recorded(_small_batches, True, monkeypatch)
    assert len(recorder.copies.train.batches) > 100
    assert taken > recorder.trace.steps * 3 / 4, (taken, recorder.trace.steps)
