"""The ranking's rule between kinds of evidence (lossdoctor.evidence_kinds): a replayed fix
leads a shown finding it removes, a shown finding leads what is only read from training."""

from lossdoctor.checks.bad_init import BAD_INIT
from lossdoctor.checks.nan_inf import NAN_INF
from lossdoctor.checks.overfitting import OVERFITTING
from lossdoctor.checks.saturated_activation import SATURATED_ACTIVATION
from lossdoctor.checks.unnormalized_inputs import UNNORMALIZED_INPUTS
from lossdoctor.checks.unscaled_targets import UNSCALED_TARGETS
from lossdoctor.diagnosis import rank, reported_and_dismissed
from lossdoctor.evidence_kinds import READING, REPLAYED_FIX, SHOWN, SYMPTOM_LEFT, kinds
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
