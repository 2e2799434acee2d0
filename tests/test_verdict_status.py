"""A run whose checks could not all run is never called healthy (issue 11, session 32; the
scorecard's most common miss on unseen sets was a broken run called healthy while a check
had stopped with an error, e.g. BatchNorm given one row in an experiment)."""

from lossdoctor.checks import CheckModule
from lossdoctor.diagnosis import diagnose
from lossdoctor.findings import Skip
from lossdoctor.report._common import headline
from lossdoctor.symptom import Symptom


def _one_row_through_batchnorm(case):
    raise RuntimeError("Expected more than 1 value per channel when training, got input size "
                       "torch.Size([1, 32])")


def _looked_and_found_nothing(case):
    return []


def _could_not_look(case):
    raise Skip("needs validation rows")


MODULES = (CheckModule("batch_size", _one_row_through_batchnorm, ()),
           CheckModule("quiet", _looked_and_found_nothing, ()),
           CheckModule("skipped", _could_not_look, ()))


def _document(result) -> dict:
    return {"status": result.status, "partial": False, "causes": [],
            "symptom": None if result.symptom is None else vars(result.symptom),
            "checks": [{"name": o.name, "status": o.status, "reason": o.reason, "causes": []}
                       for o in result.outcomes]}


def test_an_errored_check_on_curves_with_a_symptom_is_unexplained_not_healthy():
    result = diagnose(object(), MODULES)
    result.symptom = Symptom("at_chance", "validation loss 0.693, at a constant guess (0.693)")
    assert [o.status for o in result.outcomes] == ["error", "ran", "skipped"]
    assert result.status == "unexplained"
    assert "not healthy" in headline(_document(result))


def test_an_errored_check_on_curves_without_a_symptom_is_incomplete_not_healthy():
    result = diagnose(object(), MODULES)
    assert result.status == "incomplete"
    assert headline(_document(result)).startswith("Diagnosis incomplete")


def test_the_same_checks_all_run_on_curves_without_a_symptom_is_healthy():
    result = diagnose(object(), MODULES[1:])
    assert result.status == "healthy"
