"""Two confirmed roots that no stage orders: the fix that settled clearly lower on one budget
leads (measured_consequences.lower_fix_leads); a fix that gained nothing once the inputs were
standardized follows the confirmed fix that standardizes them
(GAIN_GONE_WITH_STANDARDIZED_INPUTS)."""

from lossdoctor.checks.bad_init import BAD_INIT
from lossdoctor.checks.over_regularized import OVER_REGULARIZED
from lossdoctor.checks.unnormalized_inputs import UNNORMALIZED_INPUTS
from lossdoctor.checks.vanishing_gradients import VANISHING_GRADIENTS
from lossdoctor.diagnosis import rank, reported_and_dismissed
from lossdoctor.findings import Experiment, Finding
from lossdoctor.measured_consequences import (
    DECLARED_CONSEQUENCE_CONFIDENCE,
    GAIN_GONE_WITH_STANDARDIZED_INPUTS,
    lower_fix_leads,
)


def _fixed(cause, confidence, before, after, steps=300, evidence=None):
    return Finding(cause, confidence, verdict="v", evidence=dict(evidence or {}),
                   experiment=Experiment("a fix", before, after, steps))


def _ids(ranked):
    return [f.cause.id for f in ranked]


def _raw_column(confidence=0.960):
    """One column in the tens of thousands: standardizing took the replay 34.2 -> 0.696."""
    return _fixed(UNNORMALIZED_INPUTS, confidence, 34.2, 0.696)


def _light_dropout(after=1.92, confidence=0.962, evidence=None):
    """Dropout 0.17 on that run: the replay with dropout off, 34.2 -> 1.92."""
    return _fixed(OVER_REGULARIZED, confidence, 34.2, after, evidence=evidence)


def test_the_fix_that_settled_clearly_lower_leads_whichever_is_surer():
    """Held-out one_column_in_raw_units: over_regularized 0.962 first, unnormalized_inputs
    0.960 second, though standardizing got to 0.696 and dropout off to 1.92. Both took nearly
    all of the start off (0.98 and 0.94), so only where they settled tells them apart."""
    for first_given in (True, False):
        pair = [_light_dropout(), _raw_column()]
        ranked = rank(pair if first_given else pair[::-1])
        assert _ids(ranked) == ["unnormalized_inputs", "over_regularized"]
        assert [f.explained_by for f in ranked] == [[], []]
        assert [f.confidence for f in ranked] == [0.960, 0.962]


def test_fixes_that_settled_alike_are_left_to_their_confidences():
    """The twin: dropout off got to 0.72, within a tenth of 0.696: the surer one leads."""
    ranked = rank([_raw_column(), _light_dropout(after=0.72)])
    assert _ids(ranked) == ["over_regularized", "unnormalized_inputs"]
    assert not lower_fix_leads(_raw_column(), _light_dropout(after=0.72))


def test_fixes_replayed_on_other_budgets_or_starts_are_not_compared():
    """Dev 422200: dropout off over the run's 171 steps against a default init over 300."""
    short = _fixed(OVER_REGULARIZED, 0.962, 3.03, 1.00, steps=171)
    assert _ids(rank([short, _fixed(BAD_INIT, 0.938, 3.03, 0.38)]))[0] == "over_regularized"
    other_start = _fixed(OVER_REGULARIZED, 0.962, 2.48, 1.00)
    assert _ids(rank([other_start, _fixed(BAD_INIT, 0.938, 3.03, 0.38)]))[0] == "over_regularized"


def test_the_stage_rule_stands_where_it_orders_the_pair():
    """The inputs lead an init whose fix settled lower but took no clearly bigger share off:
    the upstream rule is written for that pair (upstream_leads), and the lower fix does not
    overturn it."""
    init = _fixed(BAD_INIT, 0.97, 34.2, 0.696)
    inputs = _fixed(UNNORMALIZED_INPUTS, 0.90, 34.2, 1.92)
    assert _ids(rank([init, inputs])) == ["unnormalized_inputs", "bad_init"]


def test_a_clearly_lower_fix_leads_among_roots_on_no_stage():
    """Dev 422005 deep_tanh_tiny_init: the gradients' fix 0.922 -> 0.624, the default init's
    0.922 -> 0.721 (0.87 times as high): vanishing_gradients leads though less sure."""
    ranked = rank([_fixed(BAD_INIT, 0.99, 0.922, 0.721),
                   _fixed(VANISHING_GRADIENTS, 0.95, 0.922, 0.624)])
    assert _ids(ranked) == ["vanishing_gradients", "bad_init"]


def test_dropout_whose_gain_is_gone_on_standardized_inputs_follows_them():
    """over_regularized replayed again on standardized inputs: dropout off no longer helped. The
    confirmed standardizing fix then explains it; it is shown under it, as a consequence."""
    gone = _light_dropout(evidence={GAIN_GONE_WITH_STANDARDIZED_INPUTS: 1.0})
    reported, _ = reported_and_dismissed([gone, _raw_column()])
    assert _ids(reported) == ["unnormalized_inputs", "over_regularized"]
    assert reported[1].explained_by == ["unnormalized_inputs"]
    assert reported[1].confidence <= DECLARED_CONSEQUENCE_CONFIDENCE


def test_dropout_that_still_holds_back_standardized_inputs_stays_a_root():
    """The twin: heavy dropout still holds the model back on standardized inputs, and its fix
    settled lower than standardizing did: a root of its own, first."""
    heavy = _light_dropout(after=0.2, evidence={GAIN_GONE_WITH_STANDARDIZED_INPUTS: 0.0})
    reported, _ = reported_and_dismissed([_raw_column(), heavy])
    assert _ids(reported) == ["over_regularized", "unnormalized_inputs"]
    assert [f.explained_by for f in reported] == [[], []]


def test_a_gain_gone_is_not_explained_by_inputs_whose_fix_did_not_work():
    """Standardizing that did not help confirms nothing: the finding keeps its place."""
    gone = _light_dropout(evidence={GAIN_GONE_WITH_STANDARDIZED_INPUTS: 1.0})
    failed = _fixed(UNNORMALIZED_INPUTS, 0.6, 34.2, 33.0)
    ranked = rank([gone, failed])
    assert ranked[0].cause is OVER_REGULARIZED and ranked[0].explained_by == []


def test_the_two_rules_in_a_cycle_end_and_keep_every_finding():
    """Inputs ahead of the init by stage, the init's fix lower than the gradients', the
    gradients' lower than the inputs': each rule holds, the chain ends where it met a finding
    twice, and all three are ranked once."""
    inputs = _fixed(UNNORMALIZED_INPUTS, 0.96, 34.2, 1.0)
    init = _fixed(BAD_INIT, 0.95, 34.2, 0.7)
    gradients = _fixed(VANISHING_GRADIENTS, 0.94, 34.2, 0.8)
    assert lower_fix_leads(init, gradients) and lower_fix_leads(gradients, inputs)
    ranked = rank([inputs, init, gradients])
    assert sorted(_ids(ranked)) == ["bad_init", "unnormalized_inputs", "vanishing_gradients"]
