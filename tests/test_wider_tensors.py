"""The capacity test's larger model for a model written as plain tensors: the user's own
program on wider tensors, drawn as the user drew theirs (issue 11: a plain-tensor MLP at SGD
0.01 was compared with an nn.Linear ReLU MLP with PyTorch's init, which trains faster under
that rate for reasons other than its size)."""

import pytest
import torch
import torch.nn.functional as F

from conftest import record
from lossdoctor.capture.tensor_program import TensorModel
from lossdoctor.checks._larger_model import build_larger, why_not_larger
from lossdoctor.checks._wider_tensors import layers_of


def nielsen_network(features=12, hidden=8, classes=3, seed=0):
    """Weights (out, in) read as ``x @ w.T``, scaled by 1/sqrt(fan_in), biases N(0, 1),
    sigmoid hidden units, as in Nielsen's network.py."""
    torch.manual_seed(seed)
    sizes = [features, hidden, hidden, classes]
    weights = [(torch.randn(b, a) / a ** 0.5).requires_grad_()
               for a, b in zip(sizes, sizes[1:], strict=False)]
    biases = [torch.randn(b).requires_grad_() for b in sizes[1:]]

    def model(x):
        for w, b in zip(weights[:-1], biases[:-1], strict=True):
            x = torch.sigmoid(x @ w.T + b)
        return x @ weights[-1].T + biases[-1]

    return model, weights + biases


def trained_case(model, params, rows=96):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(rows, 12, generator=generator)
    y = torch.randint(0, 3, (rows,), generator=generator)
    optimizer = torch.optim.SGD(params, lr=0.01)

    def train():
        for _ in range(3):
            for start in range(0, rows, 16):
                optimizer.zero_grad()
                F.cross_entropy(model(x[start:start + 16]), y[start:start + 16]).backward()
                optimizer.step()
            with torch.no_grad():
                F.cross_entropy(model(x), y)

    return record(train)


def test_a_plain_tensor_mlp_is_compared_with_its_own_program_on_wider_tensors():
    case = trained_case(*nielsen_network())
    initial = case.copies.initial_model
    batch = case.replayer.train_batches[0]
    assert why_not_larger(initial, batch) == ""
    larger = build_larger(initial, batch, (3,), "CrossEntropyLoss")
    assert larger.family == "wider" and isinstance(larger.model, TensorModel)
    assert [(layer.fan_in, layer.units) for layer in layers_of(larger.model)] == [
        (12, 64), (64, 64), (64, 3)]
    assert "hidden layer 1: 8 -> 64 units" in larger.describe()
    with torch.no_grad():
        assert larger.model(*batch.args).shape == initial(*batch.args).shape


def test_the_wider_tensors_keep_the_users_init_scheme_per_fan_in():
    case = trained_case(*nielsen_network(hidden=32))
    initial = case.copies.initial_model
    larger = build_larger(initial, case.replayer.train_batches[0], (3,), "CrossEntropyLoss")
    for old, new in zip(initial.parameters(), larger.model.parameters(), strict=True):
        if old.dim() == 2:  # (out, in): 1/sqrt(fan_in) kept as 1/sqrt(fan_in)
            assert (new.std() * new.shape[1] ** 0.5).item() == \
                   pytest.approx(1.0, rel=0.2)
        else:  # biases N(0, 1) as the user's
            assert new.std().item() == pytest.approx(old.std().item(), rel=0.6)


def test_a_plain_tensor_linear_model_still_gets_a_relu_mlp():
    torch.manual_seed(0)
    weight = (torch.randn(12, 3) * 0.1).requires_grad_()
    bias = torch.zeros(3, requires_grad=True)
    case = trained_case(lambda x: x @ weight + bias, [weight, bias])
    initial = case.copies.initial_model
    larger = build_larger(initial, case.replayer.train_batches[0], (3,), "CrossEntropyLoss")
    assert larger.family == "MLP"
