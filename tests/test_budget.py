"""--budget: the time the diagnosis may take after the run; 0 runs no experiment on copies."""

import json
import math
import subprocess
import sys
import time

import pytest

from conftest import fit, mlp, record
from lossdoctor import budget
from lossdoctor.checks import CheckModule, check_modules
from lossdoctor.diagnosis import diagnose
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip


def test_past_the_deadline_checks_that_read_the_records_still_run():
    case = _small_case()
    seen = []
    modules = (CheckModule("slow", lambda c: time.sleep(0.3) or [], ()),
               CheckModule("records", lambda c: seen.append(c.trace.steps) or [], ()),
               CheckModule("replays", lambda c: c.replayer.replay(Plan(steps=5)) and [], ()))
    outcomes = {o.name: o for o in diagnose(case, modules, budget=0.1).outcomes}
    assert outcomes["slow"].status == outcomes["records"].status == "ran"
    assert seen == [case.trace.steps]
    assert outcomes["replays"].status == "stopped" and "--budget" in outcomes["replays"].reason


def test_a_check_that_met_a_refused_experiment_did_not_finish_whatever_it_caught():
    def falls_back_on_the_records(c):
        try:
            c.replayer.replay(Plan(steps=5))
        except Skip:
            return []
        return []

    case = _small_case()
    modules = (CheckModule("slow", lambda c: time.sleep(0.3) or [], ()),
               CheckModule("falls_back", falls_back_on_the_records, ()))
    outcome = diagnose(case, modules, budget=0.1).outcomes[1]
    assert outcome.status == "stopped" and "time budget (0.1 s)" in outcome.reason


def _small_case():
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    model = mlp(4, 8, 2)
    return record(fit, model, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
                  (x[:100], y[:100]), (x[100:], y[100:]), epochs=2)


def test_without_experiments_no_copy_is_trained():
    case = _small_case()
    case.experiments = False
    with pytest.raises(Skip, match="--budget 0"):
        case.replayer.replay(Plan(steps=5))


def test_budget_0_diagnoses_from_the_records_alone(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\nfrom torch import nn\ntorch.manual_seed(0)\n"
        "x = torch.randn(200, 4) * 1000; y = (x[:, 0] > 0).long()\n"
        "model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))\n"
        "opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
        "for epoch in range(6):\n"
        "    for i in range(0, 160, 20):\n"
        "        opt.zero_grad()\n"
        "        nn.functional.cross_entropy(model(x[i:i + 20]), y[i:i + 20]).backward()\n"
        "        opt.step()\n"
        "    with torch.no_grad():\n"
        "        nn.functional.cross_entropy(model(x[160:]), y[160:])\n")
    result = subprocess.run([sys.executable, "-m", "lossdoctor", "run", "--budget", "0",
                             "--json", "out.json", script.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    checks = json.loads((tmp_path / "out.json").read_text())["checks"]
    assert not [c for c in checks if c["status"] == "error"]
    assert any("--budget 0" in c["reason"] for c in checks)
    assert any(c["status"] == "ran" for c in checks)


def test_a_negative_budget_is_a_usage_error(capsys):
    from lossdoctor import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["run", "--budget", "-1", "train.py"])
    assert stop.value.code == 2 and "seconds" in capsys.readouterr().err


def test_the_default_budget_is_the_floor_for_short_trainings_and_a_tenth_of_long_ones():
    assert budget.default_budget(5.0) == budget.MIN_BUDGET_SECONDS
    long_training = 3 * budget.MIN_BUDGET_SECONDS / budget.TRAINING_SHARE
    assert budget.default_budget(long_training) == pytest.approx(3 * budget.MIN_BUDGET_SECONDS)


def test_cheap_steps_keep_every_experiment_at_full_length():
    cheap = budget.STEP_SHARE * budget.MIN_BUDGET_SECONDS / budget.DIAGNOSIS_STEPS / 4
    assert budget.step_fraction(budget.MIN_BUDGET_SECONDS, cheap) == 1.0
    assert budget.step_fraction(None, 10.0) == budget.step_fraction(float("inf"), 10.0) == 1.0
    assert budget.sized(300, 1.0) == 300


def test_costly_steps_shorten_every_experiment_alike_down_to_a_floor():
    full = budget.STEP_SHARE * 100.0 / budget.DIAGNOSIS_STEPS  # a step at which it just fits
    half = budget.step_fraction(100.0, 2 * full)
    assert half == pytest.approx(0.5)
    assert budget.sized(300, half) == 150 and budget.sized(3000, half) == 1500
    assert budget.sized(300, 0.001) == budget.MIN_REPLAY_STEPS
    assert budget.sized(10, 0.001) == 10  # never longer than planned


def test_a_replay_takes_the_steps_the_budget_leaves_it():
    case = _small_case()
    replayer = case.replayer
    replayer.step_fraction = 0.6
    result = replayer.replay(Plan(steps=300))
    assert len(result.train_losses) == result.planned_steps == 180
    assert replayer.cut == [(300, 180)]


def test_a_default_budget_grows_with_the_step_time_so_that_replays_keep_their_length(
        monkeypatch):
    case = _small_case()
    replay_steps = []
    shared = CheckModule("replays", lambda c: replay_steps.append(
        len(c.replayer.replay(Plan(steps=300)).train_losses)) or [], ())
    step = 3 * budget.STEP_SHARE * 100.0 / budget.DIAGNOSIS_STEPS  # a full diagnosis: 300 s
    monkeypatch.setattr(type(case.replayer), "step_seconds", lambda self: step)
    diagnose(case, (shared,), budget=100.0, budget_is_default=True)
    assert not any("cut to fit" in note for note in case.trace.notes)
    diagnose(case, (shared,), budget=100.0)  # a budget the user gave is kept, and cuts
    assert replay_steps == [300, budget.sized(300, 1 / 3)]
    assert any(f"to {budget.sized(300, 1 / 3)} of their 300 steps" in note and "--budget 300"
               in note for note in case.trace.notes)


def test_a_model_whose_shortest_diagnosis_exceeds_the_ceiling_keeps_the_default_budget():
    ceiling_step = (budget.MAX_FITTED_BUDGET_SECONDS * budget.STEP_SHARE
                    * budget.BASELINE_STEPS / budget.MIN_REPLAY_STEPS / budget.DIAGNOSIS_STEPS)
    assert budget.fitted_default(100.0, 1.01 * ceiling_step) == 100.0  # issue 12's 50M MLP
    assert budget.fitted_default(100.0, 0.99 * ceiling_step) == budget.MAX_FITTED_BUDGET_SECONDS
    assert budget.fitted_default(100.0, 0.001) == 100.0  # it fits already


def test_a_check_still_training_when_the_budget_runs_out_stops_and_says_how_to_include_it():
    case = _small_case()
    case.replayer.deadline, case.replayer.budget = time.monotonic() - 1, 7.0
    with pytest.raises(budget.OutOfTime, match="--budget"):
        case.replayer.replay(Plan(steps=5))
    during = CheckModule("during", lambda c: c.replayer.replay(Plan(steps=10 ** 6)), ())
    outcome = diagnose(case, (during,), budget=0.2).outcomes[0]
    assert outcome.status == "stopped" and "time budget (0.2 s)" in outcome.reason


def test_the_report_lists_the_checks_the_budget_left_unfinished_and_how_to_include_them():
    from lossdoctor.diagnosis import Diagnosis, _out_of_time
    from lossdoctor.report._common import check_problems

    diagnosis = Diagnosis([], [_out_of_time(CheckModule(name, None, ()), 100.0)
                               for name in ("batch_size", "learning_rate")])
    assert diagnosis.status == "incomplete"
    checks = [{"name": o.name, "status": o.status, "reason": o.reason}
              for o in diagnosis.outcomes]
    lines = check_problems({"checks": checks, "notes": [], "causes": [], "seeded": True,
                            "status": diagnosis.status})
    assert any("batch_size, learning_rate" in line and "--budget 200" in line
               for line in lines)


def test_a_budget_too_short_for_full_experiments_shortens_them(monkeypatch):
    case = _small_case()
    replay_steps = []
    shared = CheckModule("replays", lambda c: replay_steps.append(
        len(c.replayer.replay(Plan(steps=300)).train_losses)) or [], ())
    slow_step = 20 * budget.STEP_SHARE * 100.0 / budget.DIAGNOSIS_STEPS
    monkeypatch.setattr(type(case.replayer), "step_seconds", lambda self: slow_step)
    diagnose(case, (shared,), budget=100.0)
    diagnose(case, (shared,))
    assert replay_steps == [budget.sized(300, 1 / 20), 300]


def test_checks_run_cheapest_first_and_are_listed_in_the_catalogues_order(monkeypatch):
    monkeypatch.setattr(budget, "MEASURED_SECONDS", {"costly": 9.0, "cheap": 1.0})
    ran = []
    modules = tuple(CheckModule(name, lambda case, name=name: ran.append(name) or [], ())
                    for name in ("costly", "unmeasured", "cheap"))
    outcomes = diagnose(None, modules).outcomes
    assert ran == ["cheap", "costly", "unmeasured"]
    assert [o.name for o in outcomes] == ["costly", "unmeasured", "cheap"]


def test_every_measured_cost_names_a_check():
    names = {module.name for module in check_modules()}
    assert budget.MEASURED_SECONDS and set(budget.MEASURED_SECONDS) <= names


def test_a_default_budget_ends_checks_only_where_it_shortened_the_experiments():
    assert budget.enforced(budget_is_default=False, fraction=1.0)
    assert budget.enforced(budget_is_default=True, fraction=0.5)
    assert not budget.enforced(budget_is_default=True, fraction=1.0)


def test_a_small_run_keeps_every_check_past_a_default_budget(monkeypatch):
    case = _small_case()
    monkeypatch.setattr(type(case.replayer), "step_seconds", lambda self: 1e-9)  # cheap
    slow = CheckModule("slow", lambda c: time.sleep(0.2) or [], ())
    late = CheckModule("late", lambda c: c.replayer.replay(Plan(steps=5)) and [], ())
    default = diagnose(case, (slow, late), budget=0.1, budget_is_default=True).outcomes
    given = diagnose(case, (slow, late), budget=0.1).outcomes
    assert [o.status for o in default] == ["ran", "ran"]
    assert [o.status for o in given] == ["ran", "stopped"]


def test_the_checks_that_replay_only_some_runs_at_length_run_after_the_decisive_ones():
    order = budget.in_order([module.name for module in check_modules()])
    assert order[-2:] == ["over_regularized", "optimizer_choice"]
    assert order.index("training_loop") < order.index("no_signal") < order.index("learning_rate")


def test_a_check_whose_least_experiments_cannot_fit_the_time_left_runs_without_them(
        monkeypatch):
    case = _small_case()
    monkeypatch.setattr(budget, "LEAST_STEPS", {"costly": (300,)})
    monkeypatch.setattr(budget, "FORWARD_SHARE", 0.0)  # evaluations free: the steps alone
    monkeypatch.setattr(type(case.replayer), "step_seconds", lambda self: 0.5)  # 45 steps: 22 s
    replayed = []

    def costly(c):
        replayed.append(len(c.replayer.replay(Plan(steps=300)).train_losses))
        return []

    modules = (CheckModule("costly", costly, ()), CheckModule("cheap", lambda c: [], ()))
    outcomes = {o.name: o for o in diagnose(case, modules, budget=10.0).outcomes}
    assert replayed == [] and outcomes["cheap"].status == "ran"
    assert outcomes["costly"].status == "stopped"
    least = budget.MIN_REPLAY_STEPS * 0.5
    assert f"at least {least:.0f} s" in outcomes["costly"].reason
    assert f"--budget {10 * math.ceil(least / 10)}" in outcomes["costly"].reason
    outcomes = {o.name: o for o in diagnose(case, modules, budget=40.0).outcomes}
    assert replayed and outcomes["costly"].status == "ran"


def test_every_least_cost_names_a_check():
    names = {module.name for module in check_modules()}
    assert budget.LEAST_STEPS and set(budget.LEAST_STEPS) <= names


def test_the_learning_rate_checks_least_cost_counts_its_range_test_and_the_baseline():
    from lossdoctor.case import REPLAY_STEPS
    from lossdoctor.lr_range import span_around

    assert budget.BASELINE_STEPS == REPLAY_STEPS
    steps = span_around(2000.0)[2]  # word_language_model at lr x100: 1e-7 to 2e5
    assert steps > 140
    size = budget.RunSize(0.1, 1.0, train_batches=90, validation_batches=20, probe_batches=4,
                          range_test_steps=steps)
    made = budget.RunSize(0.1, 1.0, train_batches=90, validation_batches=20, probe_batches=4,
                          range_test_steps=steps, baseline_made=True)
    range_test = steps * (1 + 4 * budget.FORWARD_SHARE) + 90 * budget.FORWARD_SHARE
    baseline = REPLAY_STEPS + budget.REPLAY_EVALUATIONS * 20 * budget.FORWARD_SHARE
    assert budget.least_steps("learning_rate", made) == pytest.approx(range_test)
    assert budget.least_steps("learning_rate", size) == pytest.approx(range_test + baseline)
    assert budget.least_seconds("learning_rate", size) == pytest.approx(
        0.1 * (range_test + baseline))


@pytest.mark.parametrize("name, flag", [("optimizer_choice", "plain_sgd"),
                                        ("over_regularized", "regularized")])
def test_checks_that_replay_some_setups_count_their_first_replay_on_those_alone(name, flag):
    from lossdoctor.case import REPLAY_STEPS

    size = budget.RunSize(0.1, 1.0, train_batches=90, validation_batches=20)
    calls = budget.RunSize(0.1, 1.0, train_batches=90, validation_batches=20, **{flag: True})
    replay = REPLAY_STEPS + budget.REPLAY_EVALUATIONS * 20 * budget.FORWARD_SHARE
    train_fit = 90 * budget.FORWARD_SHARE if name == "over_regularized" else 0.0
    assert budget.least_steps(name, size) == 0.0
    assert budget.least_steps(name, calls) == pytest.approx(2 * replay + train_fit)  # + baseline
    made = budget.RunSize(0.1, 1.0, train_batches=90, validation_batches=20,
                          baseline_made=True, **{flag: True})
    assert budget.least_steps(name, made) == pytest.approx(replay + train_fit)


def _case_trained_with(optimizer_of, dropout: float = 0.0):
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 2))
    return record(fit, model, optimizer_of(model.parameters()), nn.CrossEntropyLoss(),
                  (x[:100], y[:100]), (x[100:], y[100:]), epochs=2)


def test_plain_sgd_or_strong_dropout_is_what_the_run_size_says_those_checks_replay():
    import torch

    from lossdoctor.diagnosis import Fitted, _run_size

    def size_of(case):
        return _run_size(Fitted(None, 0.1, 1.0, case.replayer), case)

    plain = size_of(_case_trained_with(lambda p: torch.optim.SGD(p, lr=0.1), dropout=0.5))
    assert plain.plain_sgd and plain.regularized
    adam = size_of(_case_trained_with(lambda p: torch.optim.Adam(p, lr=1e-3)))
    assert not adam.plain_sgd and not adam.regularized
    assert budget.least_steps("optimizer_choice", adam) == 0.0
    assert budget.least_steps("optimizer_choice", plain) > budget.BASELINE_STEPS


def test_optimizer_choice_is_not_started_on_plain_sgd_when_its_replays_cannot_fit(monkeypatch):
    import torch

    from lossdoctor.checks.optimizer_choice import check as optimizer_choice

    case = _case_trained_with(lambda p: torch.optim.SGD(p, lr=0.1))
    monkeypatch.setattr(type(case.replayer), "step_seconds", lambda self: 2.0)  # 120 s at least
    module = CheckModule("optimizer_choice", optimizer_choice, ())
    outcome = diagnose(case, (module,), budget=100.0).outcomes[0]
    assert outcome.status == "stopped" and "at least" in outcome.reason
    assert "baseline" not in vars(case)  # no replay was started


def test_a_run_that_blew_up_or_sits_at_chance_has_its_learning_rate_checked_early():
    names = [module.name for module in check_modules()]
    for symptom in ("diverging", "at_chance"):
        order = budget.in_order(names, symptom)
        assert order.index("training_loop") < order.index("learning_rate")
        assert order.index("nan_inf") < order.index("learning_rate")
        assert order.index("learning_rate") < order.index("saturated_activation")
        assert order.index("learning_rate") < order.index("batch_size")
    calm = budget.in_order(names, None)
    assert calm.index("data_pipeline") < calm.index("learning_rate")
    assert budget.in_order(names, "stalled") == calm


def test_the_symptom_given_to_diagnose_orders_the_checks(monkeypatch):
    monkeypatch.setattr(budget, "MEASURED_SECONDS", {"free": 0.0, "costly": 9.0, "pointed": 20.0})
    monkeypatch.setattr(budget, "POINTED_BY_SYMPTOM", {"diverging": ("pointed",)})
    ran = []
    modules = tuple(CheckModule(name, lambda case, name=name: ran.append(name) or [], ())
                    for name in ("costly", "pointed", "free"))
    diagnose(None, modules)
    outcomes = diagnose(None, modules, symptom="diverging").outcomes
    assert ran == ["free", "costly", "pointed", "free", "pointed", "costly"]
    assert [o.name for o in outcomes] == ["costly", "pointed", "free"]


def test_on_a_held_back_run_the_checks_its_setup_calls_for_run_before_the_capacity_check():
    names = [module.name for module in check_modules()]
    calls = frozenset({"over_regularized"})
    for symptom in sorted(budget.HELD_BACK_SYMPTOMS):
        order = budget.in_order(names, symptom, calls)
        assert order.index("over_regularized") < order.index("underfit_capacity")
        assert order.index("optimizer_choice") > order.index("underfit_capacity")  # not called
    for symptom in (None, "diverging"):
        order = budget.in_order(names, symptom, calls)
        assert order.index("over_regularized") > order.index("underfit_capacity")


def test_diagnose_reads_which_checks_the_setup_calls_for(monkeypatch):
    import torch

    monkeypatch.setattr(budget, "MEASURED_SECONDS",
                        {"free": 0.0, "costly": 9.0, "over_regularized": 90.0})
    ran = []
    modules = tuple(CheckModule(name, lambda case, name=name: ran.append(name) or [], ())
                    for name in ("costly", "over_regularized", "free"))
    case = _case_trained_with(lambda p: torch.optim.Adam(p, lr=1e-3), dropout=0.5)
    diagnose(case, modules, symptom="near_chance")
    diagnose(case, modules, symptom="diverging")
    assert ran == ["free", "over_regularized", "costly", "free", "costly", "over_regularized"]


def _capacity_under_budget(monkeypatch, larger_step: float):
    from lossdoctor.checks import underfit_capacity

    case = _small_case()
    replayer = type(case.replayer)
    monkeypatch.setattr(replayer, "step_seconds", lambda self: 1e-4)
    monkeypatch.setattr(replayer, "model_step_seconds", lambda self, model: larger_step)
    module = CheckModule("underfit_capacity", underfit_capacity.check,
                         underfit_capacity.CAUSES)
    return diagnose(case, (module,), budget=100.0).outcomes[0]


def test_a_larger_model_whose_replay_cannot_fit_the_time_left_is_not_trained(monkeypatch):
    outcome = _capacity_under_budget(monkeypatch, larger_step=10.0)  # 300 steps: 3,000 s
    assert outcome.status == "stopped"
    assert "takes 10 s a training step" in outcome.reason and "--budget" in outcome.reason
    assert _capacity_under_budget(monkeypatch, larger_step=1e-4).status == "ran"


@pytest.mark.parametrize("long_step, steps", [(0.0, 2), (1e9, 1 + 3)])
def test_a_step_that_takes_long_is_timed_once_after_its_warm_up(monkeypatch, long_step, steps):
    from lossdoctor import experiments

    case = _small_case()
    replayer = case.replayer
    calls = []
    step = type(replayer).train_step
    monkeypatch.setattr(type(replayer), "train_step",
                        lambda self, *args: calls.append(1) or step(self, *args))
    monkeypatch.setattr(experiments, "LONG_STEP_SECONDS", long_step)
    assert replayer.step_seconds() > 0
    assert len(calls) == steps
