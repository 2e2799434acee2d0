"""Steps of a framework's own optimizer (Keras's, emulated: its class lives in a keras module and
it updates the parameters outside torch.optim) are counted by the values they change. An update
of gradients that are all exactly zero (raw scores clipped before binary_cross_entropy, fresh25
s05) changes none, and ba096c2 counted 1 step of 133 there; the gradients reset by the next
train step now count it. A loop that trains nothing (no update ever changed a value) still
counts no step."""

import torch
import torch.nn.functional as F

from conftest import mlp, record

STEPS = 30


def _keras_like_rmsprop():
    cls = type("RMSprop", (), {"__module__": "keras.src.optimizers.fake"})
    optimizer = cls()
    optimizer.__dict__.update(learning_rate=0.01, rho=0.9, epsilon=1e-7)
    return optimizer


def _train(model, scale, update=True):
    """Keras' torch train step: zero_grad, forward, clipped BCE, backward, the update."""
    generator = torch.Generator().manual_seed(0)
    x = scale * torch.randn(64, 4, generator=generator)
    y = (x[:, 0] > 0).float()[:, None]
    for _ in range(STEPS):
        model.zero_grad()
        loss = F.binary_cross_entropy(model(x).clamp(1e-7, 1 - 1e-7), y)
        loss.backward()
        if update:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-0.01)


def _model():
    torch.manual_seed(0)
    model = mlp(4, 8, 1)
    model.optimizer = _keras_like_rmsprop()
    return model


def test_framework_updates_of_zero_gradients_are_steps():
    """Inputs at 100x: after a few updates every raw score is outside (0, 1) and clipped."""
    case = record(_train, _model(), 100.0)
    assert case.trace.setup.optimizer_class == "RMSprop (Keras optimizer)"
    assert case.trace.steps == STEPS


def test_a_loop_that_never_updates_counts_no_step():
    case = record(_train, _model(), 100.0, update=False)
    assert case.trace.steps == 0
