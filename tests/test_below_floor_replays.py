"""A replayed fix that drives a loss below its floor measures no fit (issue 11: NLLLoss on raw
scores, lr_too_low "improving" the validation loss from -4.39 to -25,054): its finding stands
down, dismissed with the reason; a replay above the floor, or of a loss of no known kind, is
judged as before."""

from types import SimpleNamespace

from lossdoctor.checks import CheckModule
from lossdoctor.checks.bad_init import BAD_INIT
from lossdoctor.checks.learning_rate import LR_TOO_LOW
from lossdoctor.checks.loss_setup import LOSS_MISMATCH
from lossdoctor.checks.nan_inf import NAN_INF
from lossdoctor.diagnosis import diagnose, rank
from lossdoctor.findings import Experiment, Finding
from lossdoctor.trace import Trace


def _replayed(cause, before, after):
    return Finding(cause, 0.9, verdict="A fix helped.", evidence={},
                   experiment=Experiment("a fix", before, after, 300))


def _diagnosed(loss_name, *findings):
    trace = Trace()
    trace.setup.loss_name = loss_name
    module = CheckModule("finds", lambda case: list(findings), (LR_TOO_LOW, BAD_INIT))
    return diagnose(SimpleNamespace(trace=trace), (module,))


def test_a_replay_that_drives_nll_further_below_zero_is_no_evidence():
    result = _diagnosed("NLLLoss", _replayed(LR_TOO_LOW, -4.39, -25054.0))
    assert result.causes == []
    [dismissed] = result.dismissed
    assert dismissed.evidence["replay_below_loss_floor"] == 1.0
    assert "below 0, the least NLLLoss can be" in dismissed.verdict


def test_a_hand_written_loss_like_nll_is_held_to_the_same_floor():
    result = _diagnosed("hand-written loss (like nll_loss)", _replayed(BAD_INIT, 0.4, -3.0))
    assert result.causes == []
    assert "a loss computed like nll_loss" in result.dismissed[0].verdict


def test_replays_above_the_floor_or_of_a_loss_of_no_known_kind_stand():
    result = _diagnosed("NLLLoss", _replayed(LR_TOO_LOW, 1.2, 0.4))
    assert [f.cause for f in result.causes] == [LR_TOO_LOW]
    result = _diagnosed("hand-written loss", _replayed(LR_TOO_LOW, -1.0, -3.0))
    assert [f.cause for f in result.causes] == [LR_TOO_LOW]
    assert "replay_below_loss_floor" not in result.causes[0].evidence


def test_a_nan_reached_under_a_loss_without_a_floor_follows_the_loss_mismatch():
    """With the replays that blamed exploding gradients stood down, the NaN the unbounded loss
    ran into is the loss mismatch's consequence (dev 426013), not a cause of its own."""
    nan = Finding(NAN_INF, 0.9, verdict="The loss became NaN at step 62.", evidence={})
    mismatch = Finding(LOSS_MISMATCH, 0.97, verdict="NLL on raw scores.", evidence={})
    assert [f.cause for f in rank([nan, mismatch])] == [LOSS_MISMATCH, NAN_INF]
    assert nan.explained_by == ["loss_mismatch"]
