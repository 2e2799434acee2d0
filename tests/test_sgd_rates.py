"""SGD's usual rates: where the rate, not the optimizer, is what a practitioner fixes first."""

import pytest

from lossdoctor.checks._sgd_rates import below_every_usual_rate, below_usual_sgd_rates


@pytest.mark.parametrize("optimizer, lr, below", [
    ("SGD", 5e-5, True), ("SGD", 5e-4, True), ("SGD", 1e-3, False), ("SGD", 0.02, False),
    # a one-cycle schedule's peak at max_lr=1e-3 as recorded (dev adam_to_sgd_same_lr 250200)
    ("SGD", 0.000999999815906467, False),
    ("Adam", 1e-5, False)])
def test_below_usual_sgd_rates(optimizer, lr, below):
    assert below_usual_sgd_rates(optimizer, lr) is below


@pytest.mark.parametrize("lr, below", [
    (1e-5, True), (9e-5, True), (9.999999e-5, False), (1e-4, False), (5e-4, False),
    (0.02, False)])
def test_below_every_usual_rate(lr, below):
    """sgd_tiny_lr's 1e-5 to 9e-5 lie below SGD's and Adam's usual rates; Adam's 1e-4 (and a
    rate recomputed in floating point just under it) does not."""
    assert below_every_usual_rate(lr) is below
