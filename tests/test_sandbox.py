import random

import numpy as np
import pytest
import torch

from lossdoctor.sandbox import isolated


def _draws():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def _rng_states():
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def test_every_rng_is_restored_bit_for_bit():
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    expected = _draws()
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    with isolated(seed=7):
        _draws()
    assert _draws() == expected


def test_rng_and_grad_mode_are_restored_when_the_experiment_raises():
    before = _rng_states()
    with torch.no_grad(), pytest.raises(RuntimeError), isolated():
        assert torch.is_grad_enabled()
        torch.rand(5)
        raise RuntimeError("experiment failed")
    after = _rng_states()
    assert torch.equal(before[0], after[0])
    assert np.array_equal(before[1], after[1])
    assert before[2] == after[2]


def test_experiments_are_reproducible_inside():
    with isolated(seed=3):
        first = torch.rand(4)
    with isolated(seed=3):
        second = torch.rand(4)
    assert torch.equal(first, second)
