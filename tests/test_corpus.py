"""The real-case corpus is well formed: every case names a known cause and its public source, and
both of its scripts compile. Fast checks only; `python bench/corpus.py` runs the diagnoses."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO


def _load_bench():
    spec = importlib.util.spec_from_file_location("corpus_bench", REPO / "bench" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
CASES = bench.case_folders()
URL = re.compile(r"^https://\S+$")


def header(script: Path, prefix: str) -> str | None:
    return bench.header_value(script, prefix)


def test_the_corpus_holds_at_least_forty_cases():
    assert len(CASES) >= 40


def test_case_names_are_unique_slugs():
    assert all(re.fullmatch(r"[a-z0-9_]+", case.name) for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_broken_script_names_known_causes_a_source_and_the_answer(case):
    broken = case / "broken.py"
    expected = bench.expected_causes(broken)
    assert expected, "a broken script expects at least one cause"
    assert set(expected) <= bench.CAUSE_IDS, set(expected) - bench.CAUSE_IDS
    assert len(expected) == len(set(expected))
    assert URL.match(header(broken, bench.SOURCE) or "")
    assert len(header(broken, bench.ANSWER) or "") > 20


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_fixed_twin_expects_nothing_and_cites_the_same_source(case):
    broken, fixed = case / "broken.py", case / "fixed.py"
    assert fixed.exists()
    assert bench.expected_causes(fixed) == []
    assert header(fixed, bench.SOURCE) == header(broken, bench.SOURCE)
    assert len(header(fixed, bench.FIX) or "") > 10


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_both_scripts_compile_and_differ(case):
    broken = (case / "broken.py").read_text(encoding="utf-8")
    fixed = (case / "fixed.py").read_text(encoding="utf-8")
    compile(broken, str(case / "broken.py"), "exec")
    compile(fixed, str(case / "fixed.py"), "exec")
    assert _code(broken) != _code(fixed), "the fix must change the code, not only the comments"


def test_docs_list_every_case_with_its_expected_causes():
    docs = (REPO / "docs" / "corpus.md").read_text(encoding="utf-8")
    for case in CASES:
        expected = ", ".join(bench.expected_causes(case / "broken.py"))
        assert f"| {case.name} | {expected} |" in docs, case.name


def test_cause_ids_are_the_declared_catalogue():
    from lossdoctor.checks import catalogue

    assert set(catalogue()) == bench.CAUSE_IDS and len(bench.CAUSE_IDS) == 27


def test_corpus_top1_and_top3_follow_the_expected_order():
    run = bench.Run
    case = bench.Case("c", ["loss_mismatch", "underfit_capacity"],
                      run("causes_found", ["underfit_capacity", "loss_mismatch"], 1.0),
                      run("healthy", [], 1.0))
    assert not case.top1
    assert case.top3
    assert case.fixed_quiet
    unseen = bench.Case("c", ["nan_inf"], run("no_training", [], 1.0), run("no_training", [], 1.0))
    assert not unseen.top1 and not unseen.top3 and not unseen.fixed_quiet


def test_twins_not_run_count_neither_as_quiet_nor_as_false_alarms():
    run = bench.Run
    cases = [bench.Case("a", ["nan_inf"], run("causes_found", ["nan_inf"], 1.0), bench.NOT_RUN),
             bench.Case("b", ["nan_inf"], run("healthy", [], 1.0),
                        run("causes_found", ["lr_too_high"], 1.0))]
    text = bench.totals(cases)
    assert "false alarms on fixed twins (anything reported): 1 of 1 run" in text
    assert "runs (of 3) with a check error" in text
    assert not cases[0].fixed_quiet


def _code(source: str) -> str:
    """The source without comments, docstring and blank lines."""
    body = re.sub(r'^""".*?"""', "", source, count=1, flags=re.S | re.M)
    lines = [line.split("#")[0].rstrip() for line in body.splitlines()]
    return "\n".join(line for line in lines if line)


def test_run_errors_name_a_failing_script_and_failing_checks():
    report = {"exit_code": 1, "checks": [{"name": "no_signal", "status": "error"},
                                         {"name": "bad_init", "status": "ran"}]}
    assert bench._run_errors(report) == "script exit code 1; check errors: no_signal"
    assert bench._run_errors({"exit_code": 0, "checks": []}) == ""
