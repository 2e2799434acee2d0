"""The diagnosis says what it is doing: a line per test with --verbose when stderr is not a
terminal, one transient line in a terminal."""

import io

from rich.console import Console

from lossdoctor.checks import CheckModule
from lossdoctor.checks.learning_rate import LR_TOO_HIGH
from lossdoctor.diagnosis import diagnose
from lossdoctor.report.progress import DiagnosisProgress


def _modules():
    return (CheckModule("learning_rate", lambda case: [], (LR_TOO_HIGH,)),
            CheckModule("bare", lambda case: [], ()))


def test_verbose_without_a_terminal_prints_a_line_per_test_in_plain_words():
    out = io.StringIO()
    progress = DiagnosisProgress(Console(file=out, width=200), line=False, verbose=True)
    with progress.showing():
        diagnose(None, _modules(), progress=progress)
    assert out.getvalue().splitlines() == [
        f"lossdoctor: test 1 of 2: {LR_TOO_HIGH.question}", "lossdoctor: test 2 of 2: bare"]


def test_quiet_by_default_and_the_terminal_line_names_the_test_and_the_time():
    out = io.StringIO()
    progress = DiagnosisProgress(Console(file=out, width=200), line=False)
    diagnose(None, _modules(), progress=progress)
    assert out.getvalue() == ""
    assert progress.text().startswith("lossdoctor  diagnosing  test 2 of 2: bare  ")
    assert progress.text().endswith(" s")
