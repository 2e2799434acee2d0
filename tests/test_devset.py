"""The scenario generator (bench/devset): fast tests only, no lossdoctor diagnosis."""

from __future__ import annotations

import math
import random
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

from devset.cases import TEST_SHARE, build, make_case, make_cases, part_of  # noqa: E402
from devset.diagnose import Report  # noqa: E402
from devset.generate import write_case  # noqa: E402
from devset.manual import made_manual  # noqa: E402
from devset.operators import CAUSES, all_operators, by_cause  # noqa: E402
from devset.probe import constant_guess  # noqa: E402
from devset.render import render, target_names  # noqa: E402
from devset.score import Scored, calibration, calibration_per_cause, findings  # noqa: E402
from devset.validity import TWIN_MIN_GAIN, Run, judge, run_plain  # noqa: E402

OPERATORS = all_operators()
#: Seeds tried per operator: enough draws to meet bases of several shapes.
SEEDS_PER_OPERATOR = 3


def operator_cases():
    return [build(seed, op) for op in OPERATORS for seed in range(SEEDS_PER_OPERATOR)]


def test_every_cause_has_several_operators():
    grouped = by_cause()
    assert set(grouped) == set(CAUSES)
    assert all(len(ops) >= 2 for ops in grouped.values()), {
        cause: [op.name for op in ops] for cause, ops in grouped.items() if len(ops) < 2}


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.name)
def test_operator_applies_to_a_base_and_changes_its_script(op):
    case = build(0, op)  # raises when no base program drawn fits the operator
    assert case.operator is op
    assert render(case.broken) != render(case.twin), f"{op.name} left the script unchanged"


def test_rendered_scripts_compile():
    for case in operator_cases():
        for program in (case.twin, case.broken):
            compile(render(program), f"{case.id}:{program.base}", "exec")


def test_generation_is_deterministic_for_a_seed():
    first = [(c.id, render(c.twin), render(c.broken)) for c in make_cases(30, 7)]
    again = [(c.id, render(c.twin), render(c.broken)) for c in make_cases(30, 7)]
    assert first == again
    assert len({text for _, twin, broken in first for text in (twin, broken)}) > 30


def test_a_case_depends_on_its_seed_only():
    alone = make_case(12)
    among_others = next(c for c in make_cases(10, 5) if c.seed == 12)
    assert render(alone.broken) == render(among_others.broken)


def test_operator_flag_gives_every_seed_of_the_part_a_case_of_that_operator():
    cases = make_cases(12, 30000, part="dev", operator="plain_sgd")
    assert cases and {c.operator.name for c in cases} == {"plain_sgd"}
    assert {c.part for c in cases} == {"dev"}
    assert len({render(c.broken) for c in cases}) > 1
    with pytest.raises(ValueError, match="devset.py operators"):
        make_cases(1, 30000, operator="no_such_operator")


def test_seeds_cycle_through_every_cause():
    causes = [make_case(seed).operator.cause for seed in range(len(CAUSES))]
    assert sorted(causes) == sorted(CAUSES)


def test_dev_and_test_parts_are_disjoint_stable_and_near_the_share():
    seeds = range(400)
    test = {c.id for c in make_cases(len(seeds), 0, part="test")}
    dev = {c.id for c in make_cases(len(seeds), 0, part="dev")}
    every = {c.id for c in make_cases(len(seeds), 0)}
    assert not test & dev and test | dev == every
    assert [part_of(s) for s in seeds] == [part_of(s) for s in seeds]
    spread = 4 * math.sqrt(len(seeds) * TEST_SHARE * (1 - TEST_SHARE))  # four sigmas
    assert abs(len(test) - TEST_SHARE * len(seeds)) < spread


def test_constant_guess_is_the_entropy_and_the_variance():
    torch = pytest.importorskip("torch")
    labels = torch.tensor([0, 1, 2, 3] * 50)
    assert constant_guess("ce", labels, labels) == pytest.approx(math.log(4), rel=1e-3)
    targets = torch.arange(100.0)
    assert constant_guess("mse", targets, targets) == pytest.approx(targets.var(unbiased=False))


def run(final: float, constant: float = 1.0) -> Run:
    return Run(seconds=1.0, train=[], val=[final + 0.1, final, final], constant=constant,
               cpu_seconds=3.0)


def test_validity_rule_keeps_a_lagging_case_and_drops_the_others():
    assert judge(run(0.3), run(0.95)).kept  # twin gain 0.7, broken 0.05
    assert judge(run(0.3), run(float("nan"))).kept
    assert judge(run(0.3), run(-4.0)).kept  # a loss that cannot be negative
    assert not judge(run(0.3), run(0.4)).kept  # broken keeps most of the gain
    assert not judge(run(1 - TWIN_MIN_GAIN / 2), run(1.0)).kept  # twin did not learn
    failed = Run(1.0, [], [], None, error="ValueError: boom")
    assert "failed" in judge(run(0.3), failed).reason


def small_twin(tmp_path: Path, rewrite=lambda program: program):
    """A case's twin cut down to a few hundred rows and three epochs (``rewrite``-n)."""
    case = make_case(0)
    twin = rewrite(case.twin.with_data(n_train=300, n_val=100).with_train(epochs=3))
    case = type(case)(case.seed, case.operator, twin, case.broken)
    entry = write_case(case, tmp_path)
    return tmp_path / entry["folder"] / "twin.py", twin


def test_a_small_rendered_script_runs_and_prints_its_losses(tmp_path):
    script, twin = small_twin(tmp_path)
    outcome = run_plain(script, twin.loss.kind, target_names(twin))
    assert not outcome.error
    assert len(outcome.watched) == twin.train.epochs
    assert all(math.isfinite(loss) for loss in outcome.watched)
    assert outcome.constant and outcome.constant > 0
    assert outcome.cpu_seconds < 10


def test_operator_magnitudes_come_from_the_case_seed():
    op = next(op for op in OPERATORS if op.name == "lr_times_thousand")
    rates = {build(seed, op, random.Random(seed)).broken.train.lr for seed in range(6)}
    assert len(rates) > 1


def scored(cause: str, reported: list[tuple[str, float]], on_twin: list[tuple[str, float]],
           also: tuple[str, ...] = ()) -> Scored:
    def report(found):
        causes = [{"id": name, "confidence": c, "explained_by": []} for name, c in found]
        return Report("causes_found" if found else "healthy", causes)
    entry = {"id": f"0-{cause}", "cause": cause, "operator": f"op_{cause}",
             "expected": [cause, *also]}
    return Scored(entry, report(reported), report(on_twin))


def test_scores_count_ranks_false_alarms_and_calibration():
    results = [scored("lr_too_high", [("lr_too_high", 0.95)], []),
               scored("bad_init", [("dead_relu", 0.92), ("bad_init", 0.65)],
                      [("overfitting", 0.55)], also=("dead_relu",)),
               scored("no_signal", [], [])]
    assert [r.top1 for r in results] == [True, False, False]
    assert [r.top3 for r in results] == [True, True, False]
    assert [r.called_healthy for r in results] == [False, False, True]
    assert [r.false_alarm for r in results] == [False, True, False]
    assert sorted(findings(results)) == [(0.55, False, True), (0.65, True, False),
                                         (0.92, True, False), (0.95, True, False)]
    table = calibration(results)
    assert "| [0.9, 1.0] | 2 | 0 | 2 | 1.00 | 0.94 |" in table
    assert "| [0.5, 0.6) | 1 | 1 | 0 | 0.00 | 0.55 |" in table


def test_calibration_per_cause_counts_right_findings_in_each_bin():
    results = [scored("bad_init", [("dead_relu", 0.92), ("bad_init", 0.65)], [("dead_relu", 0.95)],
                      also=("dead_relu",)),
               scored("lr_too_high", [("lr_too_high", 0.97), ("dead_relu", 0.55)], [])]
    table = calibration_per_cause(results)
    assert "| bad_init |  | 1/1 |  |  |  | 1/1 |" in table
    assert "| dead_relu | 0/1 |  |  |  | 1/2 | 1/3 |" in table


def test_batchnorm_scripts_drop_a_last_batch_of_one_row():
    op = next(op for op in OPERATORS if op.name == "batchnorm_tiny_batches")
    case = build(3, op)
    odd = case.broken.with_data(n_train=301).with_train(batch_size=2, batching="loader")
    even = odd.with_data(n_train=300)
    assert "drop_last=True" in render(odd)
    assert "drop_last" not in render(even)
    sliced = replace(odd.with_train(batching="slice"), naming=0)
    assert "range(0, len(x_train) - 1, BATCH_SIZE)" in render(sliced)


def test_plain_sgd_under_a_one_cycle_schedule_keeps_no_momentum():
    op = next(op for op in OPERATORS if op.name == "plain_sgd")
    plain = build(0, op).broken.with_train(schedule="onecycle")
    momentum = plain.with_train(momentum=0.9)
    assert "cycle_momentum=False" in render(plain)
    assert "cycle_momentum" not in render(momentum)


def _manual_cases():
    return make_cases(40, 20000, "dev", manual=True)


def test_manual_updates_write_a_plain_sgd_step_by_hand_without_torch_optim():
    cases = _manual_cases()
    assert cases and all(case.operator.cause != "lr_schedule" for case in cases)
    for case in cases:
        for program in (case.twin, case.broken):
            text = render(program)
            compile(text, "manual.py", "exec")
            assert "torch.optim" not in text and "optimizer" not in text, case.id
            assert "LR * param.grad" in text or "add_(param.grad, alpha=-LR)" in text or (
                "WEIGHT_DECAY * param" in text), case.id


def test_manual_updates_keep_the_step_size_of_the_optimizer_they_replace():
    adam = make_case(20000).twin.with_train(optimizer="adam", lr=2e-3, momentum=0.0,
                                             schedule="cosine")
    sgd = adam.with_train(optimizer="sgd", lr=1e-2, momentum=0.9)
    assert made_manual(sgd).train.lr == pytest.approx(0.1)
    assert 0.1 < made_manual(adam).train.lr < 0.2
    assert made_manual(adam).train.schedule == "none"


def test_a_small_script_updated_by_hand_runs_and_its_loss_falls(tmp_path):
    script, twin = small_twin(tmp_path, made_manual)
    assert "param.grad" in script.read_text()
    outcome = run_plain(script, twin.loss.kind, target_names(twin))
    assert not outcome.error and len(outcome.watched) == twin.train.epochs
    assert all(math.isfinite(loss) for loss in outcome.watched)
    assert outcome.watched[-1] < outcome.watched[0]


def test_plateau_cases_cut_the_rate_on_the_validation_loss_and_keep_their_faults():
    plain = make_cases(40, 20000, "dev")
    cut = make_cases(40, 20000, "dev", plateau=True)
    assert cut and len(cut) < len(plain)  # no validation set, or a fault in the schedule: left out
    for case in cut:
        assert case.operator.cause != "lr_schedule" and case.broken.data.has_val
        for program in (case.twin, case.broken):
            text = render(program)
            compile(text, "plateau.py", "exec")
            assert "ReduceLROnPlateau(optimizer" in text, case.id
            assert text.index("scheduler.step(val_loss)") > text.index("val_loss = "), case.id
    before = {case.seed: case for case in plain}
    assert all(before[case.seed].operator == case.operator for case in cut)


def test_validating_without_eval_keeps_a_usual_dropout_on_regression_bases():
    """The twin of no_eval_with_dropout validates in eval mode: on a regression base a dropout
    of 0.5-0.7 over-regularizes it on its own (session 19, 07193), so those bases get 0.1-0.2."""
    from devset.bases import draw_base
    from devset.faults_training import _dropout

    rates = {"regression": [], "classification": []}
    for seed in range(200):
        base = draw_base(seed, random.Random(seed))
        task = "regression" if base.data.task == "regression" else "classification"
        rates[task].append(_dropout(base, random.Random(seed)).model.dropout)
    assert rates["regression"] and max(rates["regression"]) <= 0.3  # a base's own is <= 0.3
    assert rates["classification"] and min(rates["classification"]) >= 0.5


def test_two_module_cases_call_a_head_on_an_encoders_output_and_keep_their_faults():
    plain = make_cases(60, 20000, "dev")
    split = make_cases(60, 20000, "dev", two_modules=True)
    assert split and len(split) < len(plain)  # not an MLP on tabular or image data: left out
    for case in split:
        for program in (case.twin, case.broken):
            text = render(program)
            compile(text, "two_modules.py", "exec")
            assert "(nn.Module)" not in text and "def __call__(self" in text, case.id
            assert "def parameters(self)" in text, case.id
    before = {case.seed: case for case in plain}
    assert all(before[case.seed].operator == case.operator for case in split)
