"""Two fixes that only help together (checks/_joint.py): a plain-tensor ReLU MLP with weights
drawn N(0, 1) trained by plain SGD at 2. From He init at 2 its units die and it ends at the
constant guess; from its own start at 0.2 its huge logits overfit; He init at 0.2 learns."""

import math

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from conftest import record
from lossdoctor.checks import bad_init
from lossdoctor.checks._joint import too_fast
from lossdoctor.experiments import ReplayResult


def plain_tensor_run(lr, std_one):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 10, generator=generator)
    teacher = torch.randn(10, 6, generator=generator), torch.randn(6, 3, generator=generator)
    y = (torch.tanh(x @ teacher[0]) @ teacher[1]).argmax(1)
    sizes = [10, 64, 64, 3]
    weights = [(torch.randn(a, b) * (1.0 if std_one else (2 / a) ** 0.5)).requires_grad_()
               for a, b in zip(sizes, sizes[1:], strict=False)]
    biases = [torch.zeros(b, requires_grad=True) for b in sizes[1:]]

    def model(inputs):
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            inputs = torch.relu(inputs @ w + b)
        return inputs @ weights[-1] + biases[-1]

    optimizer = torch.optim.SGD(weights + biases, lr=lr)
    loader = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=32, shuffle=True,
                        generator=generator)

    def train():
        for _ in range(12):
            for xb, yb in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                optimizer.step()
            with torch.no_grad():
                F.cross_entropy(model(x[400:]), y[400:])

    return record(train)


def test_a_far_off_start_at_a_rate_too_high_for_any_start_gets_both_fixes_together():
    found = bad_init.check(plain_tensor_run(2.0, std_one=True))
    assert [f.cause.id for f in found] == ["bad_init"]
    evidence = found[0].evidence
    assert evidence[bad_init.NEEDS_LOWER_RATE] == 1.0
    assert evidence["joint_lr"] == 0.2
    both = evidence["default_init_and_lower_rate_loss"]
    assert both < 0.5 * evidence["lower_rate_only_loss"]
    # left out of the evidence when that replay blew up (not finite): no fix on its own either
    assert both < 0.5 * evidence.get("default_init_at_your_rate_loss", math.inf)
    assert "learning rate" in found[0].fix and "2.0" in found[0].verdict


def test_the_fixed_twin_he_init_at_a_usual_rate_is_quiet():
    assert bad_init.check(plain_tensor_run(0.05, std_one=False)) == []


def test_a_replay_that_ends_at_the_constant_guess_or_blows_up_is_too_fast():
    spiking = [1.7, 2.8, 180.0] + [1.1] * 297
    at_guess = ReplayResult(spiking, [1.2, 1.1, 1.1, 1.1])
    assert too_fast(at_guess, constant=1.1)
    assert not too_fast(ReplayResult(spiking, [0.5, 0.4, 0.4, 0.4]), constant=1.1)
    assert too_fast(ReplayResult([1.0, float("nan")], [float("nan")], diverged=True), None)
