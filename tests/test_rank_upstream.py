"""The ranking rule between two confirmed roots: the one upstream leads (the data before the
init before the training settings), unless the other's replayed fix did clearly more
(measured_consequences.upstream_leads)."""

import math

from lossdoctor.checks.bad_init import BAD_INIT
from lossdoctor.checks.class_imbalance import CLASS_IMBALANCE
from lossdoctor.checks.learning_rate import LR_TOO_HIGH, LR_TOO_LOW
from lossdoctor.checks.overfitting import OVERFITTING
from lossdoctor.checks.saturated_activation import SATURATED_ACTIVATION
from lossdoctor.checks.unnormalized_inputs import UNNORMALIZED_INPUTS
from lossdoctor.checks.unscaled_targets import UNSCALED_TARGETS
from lossdoctor.diagnosis import rank, reported_and_dismissed
from lossdoctor.findings import Experiment, Finding
from lossdoctor.measured_consequences import FIX_CHANGES_A_SETTING, stage, upstream_leads

BALANCED = "balanced validation loss (each class counts equally)"


def _fixed(cause, confidence, before, after, measure="validation loss", evidence=None):
    return Finding(cause, confidence, verdict="v", evidence=dict(evidence or {}),
                   experiment=Experiment("a fix", before, after, 300, measure=measure))


def _read(cause, confidence):
    return Finding(cause, confidence, verdict="v", evidence={})


def _ids(ranked):
    return [f.cause.id for f in ranked]


def _raw_inputs(confidence=0.92):
    """Inputs in their 0-255 units: standardizing them took the replay from 2.30 to 0.45."""
    return _fixed(UNNORMALIZED_INPUTS, confidence, 2.30, 0.45)


def test_the_stages_run_from_the_data_to_the_training_settings():
    stages = [stage(_read(cause, 0.9)) for cause in
              (UNNORMALIZED_INPUTS, UNSCALED_TARGETS, CLASS_IMBALANCE, BAD_INIT, LR_TOO_LOW)]
    assert stages[:3] == [stages[0]] * 3 and 0 < stages[0] < stages[3] < stages[4]
    assert stage(_read(SATURATED_ACTIVATION, 0.9)) == 0


def test_raw_inputs_lead_an_init_whose_fix_does_no_more_whichever_is_surer():
    """Raw pixels: the calibrated near-tie (bad_init 0.9385 over unnormalized_inputs 0.9376)
    decided the answer by noise. Standardizing did more than re-initializing; the default init's
    scale is right only for inputs of unit scale, so the inputs lead, in either order given."""
    for first_given in (True, False):
        init = _fixed(BAD_INIT, 0.9385, 2.30, 1.10)
        inputs = _raw_inputs(0.9376)
        ranked = rank([init, inputs] if first_given else [inputs, init])
        assert _ids(ranked) == ["unnormalized_inputs", "bad_init"]
        assert [f.explained_by for f in ranked] == [[], []]  # both still roots
        assert [f.confidence for f in ranked] == [0.9376, 0.9385]


def test_the_near_tie_as_calibrated_puts_the_inputs_first():
    """The checks' own confidences (inputs 0.922, init 0.9) calibrate to 0.9376 and 0.9385."""
    reported, _ = reported_and_dismissed([_fixed(BAD_INIT, 0.9, 2.30, 0.50),
                                          _raw_inputs(0.922)])
    assert [round(f.confidence, 3) for f in reported] == [0.938, 0.938]
    assert _ids(reported) == ["unnormalized_inputs", "bad_init"]


def test_an_init_whose_fix_does_clearly_more_stays_first():
    """The twin of the rule: re-initializing took the loss to 0.10, standardizing only to 0.45
    (a fifth of the start more): the inputs' fix does not remove what the init's does, so their
    confidences decide, and the surer init stays first."""
    for first_given in (True, False):
        init = _fixed(BAD_INIT, 0.95, 2.30, 0.10)
        inputs = _raw_inputs(0.90)
        ranked = rank([init, inputs] if first_given else [inputs, init])
        assert _ids(ranked) == ["bad_init", "unnormalized_inputs"]


def test_rare_classes_lead_a_higher_rate_whose_gain_the_plain_loss_shows():
    """Rare classes: the class-weighted fix is scored on the balanced loss, the rate's on the
    plain one, which is the majority's; they cannot be set side by side, and the data's cause
    leads (lr_too_low 0.90 was first over class_imbalance 0.85)."""
    for first_given in (True, False):
        rate = _fixed(LR_TOO_LOW, 0.90, 0.070, 0.052)
        classes = _fixed(CLASS_IMBALANCE, 0.85, 2.35, 0.11, measure=BALANCED)
        ranked = rank([rate, classes] if first_given else [classes, rate])
        assert _ids(ranked) == ["class_imbalance", "lr_too_low"]


def test_a_class_reading_without_a_fix_that_worked_does_not_lead_a_confirmed_rate():
    """Only two confirmed roots are ordered by the rule: an imbalance read from the trained
    model's recall, without a replayed fix, stays where its confidence puts it."""
    ranked = rank([_fixed(LR_TOO_LOW, 0.90, 0.070, 0.052), _read(CLASS_IMBALANCE, 0.85)])
    assert _ids(ranked) == ["lr_too_low", "class_imbalance"]


def test_an_init_fixed_together_with_the_rate_leads_the_rate_it_needed_lowered():
    """Weights N(0, 1) and SGD at 2.0 (dev std_one_and_lr_too_high 363113): every training
    loss NaN; the rate alone settled at 3.43, the default init at a lower rate at 0.33. The
    rate's fix did not do more, so the init leads though the rate's finding is surer (1.0)."""
    joint = {FIX_CHANGES_A_SETTING: 1.0}
    for first_given in (True, False):
        rate = _fixed(LR_TOO_HIGH, 1.0, math.inf, 3.43)
        init = _fixed(BAD_INIT, 0.886, math.inf, 0.33, evidence=joint)
        ranked = rank([rate, init] if first_given else [init, rate])
        assert _ids(ranked) == ["bad_init", "lr_too_high"]


def test_an_init_fixed_together_with_a_rate_that_alone_does_as_much_does_not_lead_it():
    """A BERT built from a config trained at a rate 40 times too high (tests/frameworks'
    hf_trainer --bug lr): the default init with the rate lowered to 0.01 and the rate alone at
    0.0025 both took 0.704 to 0.0013. The init's part is not shown to matter; the surer rate
    stays first."""
    rate = _fixed(LR_TOO_HIGH, 1.0, 0.704, 0.00135)
    init = _fixed(BAD_INIT, 0.908, 0.704, 0.00133, evidence={FIX_CHANGES_A_SETTING: 1.0})
    assert not upstream_leads(init, rate)
    assert _ids(rank([init, rate])) == ["lr_too_high", "bad_init"]


def test_a_rate_that_settles_clearly_lower_after_a_blow_up_is_not_led():
    rate = _fixed(LR_TOO_HIGH, 1.0, math.inf, 0.30)
    init = _fixed(BAD_INIT, 0.886, math.inf, 3.4, evidence={FIX_CHANGES_A_SETTING: 1.0})
    assert not upstream_leads(init, rate)
    assert _ids(rank([init, rate])) == ["lr_too_high", "bad_init"]


def test_the_upstream_root_moves_just_ahead_of_the_other_and_the_findings_between_follow():
    """An unrelated root the sort put between the two now follows both."""
    memorizing = _read(OVERFITTING, 0.938)
    ranked = rank([_fixed(BAD_INIT, 0.9385, 2.30, 1.10), memorizing, _raw_inputs(0.9376)])
    assert _ids(ranked) == ["unnormalized_inputs", "bad_init", "overfitting"]


def test_a_consequence_is_not_moved_ahead_of_its_root():
    """A rate that the scaled targets explain (declared) stays under them: the rule orders
    roots only."""
    targets = _fixed(UNSCALED_TARGETS, 0.80, 30.0, 12.0)
    rate = _fixed(LR_TOO_LOW, 0.95, 30.0, 14.0)
    ranked = rank([rate, targets])
    assert _ids(ranked) == ["unscaled_targets", "lr_too_low"]
    assert ranked[1].explained_by == ["unscaled_targets"]
