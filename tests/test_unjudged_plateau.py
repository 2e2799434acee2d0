from lossdoctor.checks.optimizer_choice import OPTIMIZER_CHOICE
from lossdoctor.curves import IMPROVING, PLATEAU, CurveVerdict
from lossdoctor.diagnosis import Diagnosis
from lossdoctor.findings import Finding
from lossdoctor.verdict import _unjudged

PROBLEM = "your training loop feeds the model what an earlier call returned"


def _plateau(chance=None):
    return CurveVerdict(PLATEAU, "validation loss flat since epoch 2 (best 2.717)", 2.0,
                        chance_loss=chance)


def test_a_plateau_nothing_could_judge_is_not_called_healthy():
    diagnosis = Diagnosis(causes=[])
    symptom = _unjudged(diagnosis, _plateau(), None, PROBLEM)
    assert symptom.kind == "unjudged"
    assert "flat since epoch 2" in symptom.message and PROBLEM in symptom.message
    diagnosis.symptom = symptom
    assert diagnosis.status == "unexplained"


def test_a_plateau_judged_by_a_guess_or_by_experiments_stays_healthy():
    diagnosis = Diagnosis(causes=[])
    assert _unjudged(diagnosis, _plateau(chance=3.0), None, PROBLEM) is None
    assert _unjudged(diagnosis, _plateau(), 3.0, PROBLEM) is None
    assert _unjudged(diagnosis, _plateau(), None, "") is None


def test_a_curve_still_improving_or_a_found_cause_is_left_alone():
    improving = CurveVerdict(IMPROVING, "validation loss improving", None)
    assert _unjudged(Diagnosis(causes=[]), improving, None, PROBLEM) is None
    found = Diagnosis(causes=[Finding(OPTIMIZER_CHOICE, 0.9, verdict="v", evidence={})])
    assert _unjudged(found, _plateau(), None, PROBLEM) is None


def test_the_report_says_not_called_healthy_for_an_unjudged_plateau():
    from lossdoctor.report._common import headline

    symptom = _unjudged(Diagnosis(causes=[]), _plateau(), None, PROBLEM)
    document = {"status": "unexplained", "partial": False, "causes": [],
                "symptom": {"kind": symptom.kind, "message": symptom.message}}
    line = headline(document)
    assert line.startswith("Not called healthy: the validation loss flat since epoch 2")
    assert "not healthy (" not in line
