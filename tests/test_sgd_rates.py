"""SGD's usual rates: where the rate, not the optimizer, is what a practitioner fixes first."""

import pytest

from lossdoctor.checks._sgd_rates import below_usual_sgd_rates


@pytest.mark.parametrize("optimizer, lr, below", [
    ("SGD", 5e-5, True), ("SGD", 5e-4, True), ("SGD", 1e-3, False), ("SGD", 0.02, False),
    # a one-cycle schedule's peak at max_lr=1e-3 as recorded (dev adam_to_sgd_same_lr 250200)
    ("SGD", 0.000999999815906467, False),
    ("Adam", 1e-5, False)])
def test_below_usual_sgd_rates(optimizer, lr, below):
    assert below_usual_sgd_rates(optimizer, lr) is below
