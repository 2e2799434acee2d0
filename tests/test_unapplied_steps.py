"""Training that goes on without being applied (checks/_unapplied_steps.py): an optimizer.step
that stops stepping while backward passes go on, and an optimizer rebuilt over tensors the
forward pass no longer uses (a model resumed from a checkpoint). Each with a twin that trains."""

import copy
import io

import torch
import torch.nn.functional as F
from torch import nn

from conftest import hand_written_loss, module_loss, record
from lossdoctor.checks.training_loop import FROZEN_PARAMS, check


def _data(rows=480, features=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, features, generator=generator)
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).long()
    return x, y


def _batches(x, y, size=32):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def _stops_stepping_after(optimizer, steps):
    """optimizer.step wrapped so that it returns without stepping after ``steps`` steps."""
    eager, taken = optimizer.step, [0]

    def step(*args, **kwargs):
        taken[0] += 1
        return eager(*args, **kwargs) if taken[0] <= steps else None

    optimizer.step = step


def _frozen(findings):
    return [f for f in findings if f.cause is FROZEN_PARAMS and f.confidence >= 0.5]


def _loop(model, optimizer, loss_of, train, validation, epochs=6, accumulate=1):
    for _ in range(epochs):
        model.train()
        for index, batch in enumerate(train):
            loss_of(model, batch).div(accumulate).backward()
            if (index + 1) % accumulate == 0:
                optimizer.step()
                optimizer.zero_grad()
        if validation:
            model.eval()
            with torch.no_grad():
                for batch in validation:
                    loss_of(model, batch)


def _dict_loss(model, batch):
    return F.cross_entropy(model({"features": batch[0]})["logits"], batch[1])


class _DictMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, batch):
        return {"logits": self.body(batch["features"])}


class _SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 3, padding=1)
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        return self.head(F.relu(self.conv(x[:, None, :])).flatten(1))


SHAPES = {
    "mlp, loss module, validation": (lambda: nn.Sequential(nn.Linear(8, 32), nn.ReLU(),
                                                           nn.Linear(32, 2)), module_loss, True),
    "cnn, hand-written loss, validation": (_SmallCNN, hand_written_loss, True),
    "dict batches, no validation": (_DictMLP, _dict_loss, False),
}


def _step_stopping_case(shape, stop_after):
    build, loss_of, validated = SHAPES[shape]
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    if stop_after is not None:
        _stops_stepping_after(optimizer, stop_after)
    x, y = _data()
    train, validation = _batches(x[:384], y[:384]), _batches(x[384:], y[384:])
    return record(_loop, model, optimizer, loss_of, train, validation if validated else [])


def test_an_optimizer_step_that_stops_stepping_while_backward_goes_on_is_found():
    for shape in SHAPES:
        [finding] = _frozen(check(_step_stopping_case(shape, stop_after=15)))
        assert finding.evidence["optimizer_steps"] == 15, shape
        assert finding.evidence["backward_passes_after_last_step"] == 6 * 12 - 15, shape
        assert "without any step" in finding.verdict


def test_its_twin_that_steps_every_batch_is_quiet():
    for shape in SHAPES:
        assert not _frozen(check(_step_stopping_case(shape, stop_after=None))), shape


def test_gradient_accumulation_and_its_last_unstepped_window_is_quiet():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data(rows=440)  # 11 training batches of 32 and one of 24: 3 left at each epoch's end
    train, validation = _batches(x[:376], y[:376]), _batches(x[376:], y[376:])
    case = record(_loop, model, optimizer, module_loss, train, validation, accumulate=4)
    assert not _frozen(check(case))


def test_a_few_gradients_looked_at_after_training_are_quiet():
    """Backward passes after the last step in eval mode (a saliency look) are not training."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = _data()
    train, validation = _batches(x[:384], y[:384]), _batches(x[384:], y[384:])

    def train_then_look(*args):
        _loop(*args)
        model.eval()
        for batch in train:
            module_loss(model, batch).backward()

    case = record(train_then_look, model, optimizer, module_loss, train, validation)
    assert not _frozen(check(case))


# --- an optimizer over tensors no forward pass uses ----------------------------------------------


class _RNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(1, 16, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.rnn(x[:, :, None])[0][:, -1])


def _resumed(build, loss_of, rebind):
    """Train two epochs, save model and optimizer parameter lists, build the model anew from
    the checkpoint and train six more epochs with an optimizer over the restored parameter
    lists (the old tensors) or, with ``rebind``, over the new model's parameters."""
    torch.manual_seed(0)
    model = build()
    groups = {"params": list(model.parameters()), "lr": 0.05, "momentum": 0.9}
    x, y = _data()
    train, validation = _batches(x[:384], y[:384]), _batches(x[384:], y[384:])

    def run():
        nonlocal model, groups
        _loop(model, torch.optim.SGD([groups]), loss_of, train, validation, epochs=2)
        buffer = io.BytesIO()
        torch.save({"state": model.state_dict(), "groups": groups}, buffer)
        buffer.seek(0)
        saved = torch.load(buffer, weights_only=False)
        model = build()
        model.load_state_dict(saved["state"])
        groups = saved["groups"]
        if rebind:
            groups["params"] = list(model.parameters())
        _loop(model, torch.optim.SGD([groups]), loss_of, train, validation, epochs=6)

    return record(run)


RESUMED = {"mlp": (lambda: nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2)),
                   module_loss),
           "cnn": (_SmallCNN, hand_written_loss), "rnn": (_RNN, module_loss)}


def test_an_optimizer_resumed_over_the_old_networks_tensors_is_found():
    for shape, (build, loss_of) in RESUMED.items():
        [finding] = _frozen(check(_resumed(build, loss_of, rebind=False)))
        assert finding.evidence["steps_without_gradients"] == 6 * 12, shape
        assert finding.evidence["optimizer_elements_outside_model"] > 0, shape
        assert "changed nothing" in finding.verdict


def test_its_twin_resumed_with_the_new_networks_parameters_is_quiet():
    for shape, (build, loss_of) in RESUMED.items():
        assert not _frozen(check(_resumed(build, loss_of, rebind=True))), shape


def test_a_new_model_and_optimizer_per_fold_is_quiet():
    """k-fold: each fold's model trained by its own optimizer; only the first is followed."""
    x, y = _data()
    train, validation = _batches(x[:384], y[:384]), _batches(x[384:], y[384:])

    def folds():
        for fold in range(3):
            torch.manual_seed(fold)
            model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
            _loop(model, torch.optim.Adam(model.parameters(), lr=1e-2), module_loss,
                  train, validation, epochs=3)

    assert not _frozen(check(record(folds)))


def test_an_optimizer_of_an_earlier_copy_of_the_model_is_found():
    """The model replaced by a deep copy (a 'best' model reloaded) after the optimizer was
    built over the original, and a new optimizer made over the original's parameters."""
    torch.manual_seed(0)
    original = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    x, y = _data()
    train, validation = _batches(x[:384], y[:384]), _batches(x[384:], y[384:])

    def run():
        _loop(original, torch.optim.Adam(original.parameters(), lr=1e-2), module_loss,
              train, validation, epochs=2)
        best = copy.deepcopy(original)
        stale = torch.optim.Adam(original.parameters(), lr=1e-3)
        stale.zero_grad()
        _loop(best, stale, module_loss, train, validation, epochs=4)

    [finding] = _frozen(check(record(run)))
    assert finding.evidence["optimizer_elements_outside_model"] > 0
