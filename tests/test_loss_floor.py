"""A loss's floor on soft targets (fresh22 s10: binary cross-entropy on targets uniform in 0-1
cannot go below their entropy, 0.5): known from the targets, named in the symptom, and used as
the near-chance bar where even a perfect fit could not pass the guess's."""

import numpy as np

from lossdoctor.constant_guess import loss_floor
from lossdoctor.symptom import symptom_of
from lossdoctor.trace import LossRecord, Trace

CHANCE = 0.6931


def _trace(losses, steps_per_epoch=10):
    trace = Trace()
    for epoch, loss in enumerate(losses):
        trace.epoch_starts.append(epoch * steps_per_epoch)
        for i in range(steps_per_epoch):
            trace.add_loss(LossRecord(loss, 32, "train", epoch * steps_per_epoch + i))
    trace.steps = len(losses) * steps_per_epoch
    trace.setup.loss_name = "BCELoss"
    return trace


def test_binary_cross_entropy_on_uniform_targets_has_a_floor_of_one_half():
    targets = np.random.default_rng(0).random((2000, 50)).astype("float32")
    assert abs(loss_floor("BCELoss", {}, targets) - 0.5) < 0.01
    assert loss_floor("BCELoss", {}, (targets > 0.5).astype("float32")) == 0.0
    assert loss_floor("BCELoss", {"pos_weight": True}, targets) is None


def test_cross_entropy_on_probability_rows_has_their_entropy_and_class_indices_none():
    rows = np.full((10, 4), 0.25, dtype="float32")
    assert abs(loss_floor("CrossEntropyLoss", {}, rows) - np.log(4)) < 1e-6
    assert loss_floor("CrossEntropyLoss", {}, np.arange(10)) is None
    assert loss_floor("MSELoss", {}, rows) is None


def test_a_run_near_the_guess_is_told_the_floor_it_cannot_pass():
    trace = _trace([0.692, 0.66, 0.645, 0.635, 0.6275])
    found = symptom_of(trace, None, CHANCE, floor=0.5)
    assert found is not None and found.kind == "near_chance"
    assert "cannot go below 0.5" in found.message and "34% of the way" in found.message


def test_a_fit_that_reached_a_floor_above_the_guess_bar_is_not_near_chance():
    """Soft targets near one half (a distillation's): the floor 0.68 is above the guess's
    near-chance bar (0.624), so a fit at the floor would be near chance by that bar."""
    trace = _trace([0.692, 0.686, 0.683, 0.681, 0.6805])
    assert symptom_of(trace, None, CHANCE) is not None  # without the floor: near chance
    assert symptom_of(trace, None, CHANCE, floor=0.68) is None
    stuck = _trace([0.692, 0.6925, 0.692, 0.6922, 0.6921])
    assert symptom_of(stuck, None, CHANCE, floor=0.68).kind == "near_chance"
