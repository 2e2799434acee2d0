"""Steps of a framework's own optimizer (Keras's, emulated: its class lives in a keras module, it
counts its updates in ``iterations`` as Keras 3 does, and it updates the parameters outside
torch.optim) are counted by that count, whatever the update changed. An update of gradients that
are all exactly zero (raw scores clipped before binary_cross_entropy, fresh25 s05; an output ReLU
dead from the start, fresh26 s01) changes no value: ba096c2 counted 1 step of 133 on the first,
5d515c6 none at all on the second (no update had ever changed a value). A loop that never updates
counts no step."""

import torch
import torch.nn.functional as F
from torch import nn

from conftest import mlp, record

STEPS = 30


def _keras_like_rmsprop():
    cls = type("RMSprop", (), {"__module__": "keras.src.optimizers.fake"})
    optimizer = cls()
    optimizer.__dict__.update(learning_rate=0.01, rho=0.9, epsilon=1e-7, iterations=0)
    return optimizer


def _train(model, scale, update=True, loss_fn=None):
    """Keras' torch train step: zero_grad, forward, clipped BCE, backward, the update."""
    generator = torch.Generator().manual_seed(0)
    x = scale * torch.randn(64, 4, generator=generator)
    y = (x[:, 0] > 0).float()[:, None]
    loss_fn = loss_fn or (lambda out, y: F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), y))
    for _ in range(STEPS):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if update:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-0.01)
            model.optimizer.iterations += 1


def _model(*layers: nn.Module):
    torch.manual_seed(0)
    model = nn.Sequential(*layers) if layers else mlp(4, 8, 1)
    model.optimizer = _keras_like_rmsprop()
    return model


def test_framework_updates_of_zero_gradients_are_steps():
    """Inputs at 100x: after a few updates every raw score is outside (0, 1) and clipped."""
    case = record(_train, _model(), 100.0)
    assert case.trace.setup.optimizer_class == "RMSprop (Keras optimizer)"
    assert case.trace.steps == STEPS


def test_a_model_dead_from_its_first_update_steps_all_the_same():
    """An output ReLU whose input is below 0 for every row: every gradient is zero from the
    first update, no value ever changes, and each update the optimizer counted is a step, its
    gradients sampled as any step's are."""
    output = nn.Linear(8, 1)
    nn.init.constant_(output.bias, -100.0)
    model = _model(nn.Linear(4, 8), nn.ReLU(), output, nn.ReLU())
    case = record(_train, model, 1.0, loss_fn=F.mse_loss)
    assert case.trace.steps == STEPS
    assert case.trace.setup.lr_schedule == [[0, 0.01]]
    assert case.trace.gradient_samples > 3
    assert all(record.grad_norm == 0 for record in case.trace.gradients)


def test_a_loop_that_never_updates_counts_no_step():
    case = record(_train, _model(), 100.0, update=False)
    assert case.trace.steps == 0
