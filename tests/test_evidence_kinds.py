"""The ranking's rule between kinds of evidence (lossdoctor.evidence_kinds): a replayed fix
leads a shown finding it removes, a shown finding leads what is only read from training."""

from lossdoctor.checks.bad_init import BAD_INIT
from lossdoctor.checks.learning_rate import LR_TOO_HIGH, LR_TOO_LOW
from lossdoctor.checks.nan_inf import NAN_INF
from lossdoctor.checks.no_signal import NO_SIGNAL
from lossdoctor.checks.overfitting import OVERFITTING
from lossdoctor.checks.saturated_activation import SATURATED_ACTIVATION
from lossdoctor.checks.training_loop import MISSING_ZERO_GRAD
from lossdoctor.checks.unnormalized_inputs import UNNORMALIZED_INPUTS
from lossdoctor.checks.unscaled_targets import UNSCALED_TARGETS
from lossdoctor.checks.validation_path import VALIDATION_PATH
from lossdoctor.diagnosis import rank, reported_and_dismissed
from lossdoctor.evidence_kinds import (
    READING,
    REPLAYED_FIX,
    SHOWN,
    SYMPTOM_LEFT,
    TRAINING_AT_CHANCE,
    follows_training,
    kinds,
)
from lossdoctor.findings import Experiment, Finding


def _replayed(cause, confidence, before=29_143.0, after=942.0, **evidence):
    return Finding(cause, confidence, "v", evidence,
                   experiment=Experiment("the fix", before=before, after=after, steps=300))


def _pinned(confidence=0.85):
    """Hidden tanh units pinned, shown (discuss_scaling_target_variables: 0.85, 'pinned 67% ->
    100%')."""
    return Finding(SATURATED_ACTIVATION, confidence, "pinned", {}, root=True)


def test_each_finding_is_told_its_kinds_of_evidence():
    assert kinds(_replayed(UNSCALED_TARGETS, 0.95)) == {REPLAYED_FIX}
    assert kinds(_pinned()) == {SHOWN}
    assert kinds(Finding(OVERFITTING, 0.9, "v", {})) == {READING}
    unhelpful = _replayed(UNSCALED_TARGETS, 0.95, before=1.0, after=0.99)
    assert kinds(unhelpful) == {READING}


def test_a_replayed_fix_leads_the_shown_symptom_it_removes_shown_as_its_consequence():
    """Targets around -2700 drive a tanh regressor's hidden units to their limits: the scaled
    targets' replay (0.97) is the root, the pinned units (0.85) its consequence."""
    targets, pinned = _replayed(UNSCALED_TARGETS, 0.95), _pinned()
    reported, dismissed = reported_and_dismissed([pinned, targets])
    assert [f.cause for f in reported] == [UNSCALED_TARGETS, SATURATED_ACTIVATION]
    assert pinned.explained_by == ["unscaled_targets"] and dismissed == []


def test_a_replayed_fix_that_left_the_units_pinned_does_not_lead_them():
    targets = _replayed(UNSCALED_TARGETS, 0.95, **{SYMPTOM_LEFT: 1.0})
    pinned = _pinned()
    assert [f.cause for f in rank([targets, pinned])] == [SATURATED_ACTIVATION, UNSCALED_TARGETS]
    assert pinned.explained_by == []


def test_a_replay_that_did_not_help_does_not_lead_a_shown_finding():
    targets = _replayed(UNSCALED_TARGETS, 0.95, before=1.0, after=0.99)
    pinned = _pinned()
    assert rank([targets, pinned])[0] is pinned and pinned.explained_by == []


def test_a_shown_finding_leads_what_is_only_read_from_training():
    pinned, curve = _pinned(0.6), Finding(OVERFITTING, 0.95, "v", {})
    assert rank([curve, pinned]) == [pinned, curve]


def test_units_pinned_by_a_large_init_lead_the_init_finding_beside_them():
    """tanh/sigmoid_large_init: the units pinned before any update are the saturation's own
    shown root (its fix is the smaller init); bad_init does not declare them, so its replayed
    fix is reported beside them, not over them."""
    init, pinned = _replayed(BAD_INIT, 0.9, before=8.34, after=0.68), _pinned(0.67)
    assert [f.cause for f in rank([pinned, init])] == [SATURATED_ACTIVATION, BAD_INIT]
    assert pinned.explained_by == [] and init.explained_by == []


def test_nan_in_the_data_is_never_the_consequence_of_a_replayed_fix():
    """No other cause's fix changes the data: NaN rows stay a root, whatever declares nan_inf."""
    in_data = Finding(NAN_INF, 0.9, "v", {}, root=True)
    inputs = _replayed(UNNORMALIZED_INPUTS, 0.97)
    assert rank([inputs, in_data])[0] is in_data and in_data.explained_by == []


# A finding about the validation code alone follows the training's causes when the training
# itself fails (rule 0 of lossdoctor.evidence_kinds). Each of these fails on 6b7f458 where
# marked: there validation_path's precedence put it first whatever the training did.

def _validation_path(confidence=0.95, **evidence):
    """The script prints its validation loss 1/30 of its size (bench/peer23 s03)."""
    return Finding(VALIDATION_PATH, confidence, "v", {"scale_factor": 0.034, **evidence})


def test_a_replayed_training_fix_leads_a_validation_loss_misprinted():
    """peer23 s03: zero_grad missing (replayed: 0.929 -> 0.564) and a validation loss summed
    wrong, both true; the training's cause first. Fails on 6b7f458."""
    printed, zero_grad = _validation_path(), _replayed(MISSING_ZERO_GRAD, 0.925, 0.929, 0.564)
    assert rank([printed, zero_grad]) == [zero_grad, printed]
    assert zero_grad.explained_by == [] and printed.explained_by == []


def test_a_validation_bug_leads_a_reading_about_training():
    """No replayed fix, no training at chance: the misreported validation curve is what the
    other checks read, and validation_path's precedence holds."""
    printed, rate = _validation_path(), Finding(LR_TOO_HIGH, 0.97, "v", {})
    assert rank([rate, printed]) == [printed, rate]


def test_a_replayed_fix_the_validation_bug_declares_stays_its_consequence():
    """lr_too_low is among the readings a misreported curve brings (validation_path explains
    it): its replayed fix does not move the validation bug behind it."""
    printed, rate = _validation_path(), _replayed(LR_TOO_LOW, 0.97, 1.0, 0.6)
    assert rank([rate, printed]) == [printed, rate]
    assert rate.explained_by == ["validation_path"]


def test_a_training_at_chance_puts_every_training_cause_first_and_explains_none():
    """fresh23 s07: the trained model is at chance on its own training rows; a reading about
    training (no_signal, which validation_path declares) is then no consequence of the
    validation code. Fails on 6b7f458."""
    printed = _validation_path(**{TRAINING_AT_CHANCE: 1.0})
    labels = Finding(NO_SIGNAL, 0.8, "v", {})
    assert rank([printed, labels]) == [labels, printed]
    assert labels.explained_by == []


def test_two_validation_path_findings_are_not_ordered_by_this_rule():
    assert not follows_training(_validation_path(**{TRAINING_AT_CHANCE: 1.0}),
                                _validation_path())
