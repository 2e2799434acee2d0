"""An option of lossdoctor's written after the script goes to the script, as python would have
it, and lossdoctor says so in one line before the run."""

import pytest

from lossdoctor import cli, own_output


@pytest.fixture
def note(monkeypatch, capsys):
    monkeypatch.setattr(own_output, "_stderr", None)  # write to the captured sys.stderr
    return lambda: capsys.readouterr().err


def _warn(words):
    options = cli._parser().parse_args(["run", *words])
    cli._warn_of_slipped_options(options, options.script_args)


def test_an_option_after_the_script_is_named_with_where_it_went(note):
    _warn(["train.py", "--epochs", "3", "--html", "r.html", "--seed=1"])
    said = " ".join(note().split())
    assert said.startswith("lossdoctor: --html, --seed came after train.py, so they were passed "
                           "to the script, not to lossdoctor")
    assert "`lossdoctor run --html ... train.py`" in said
    _warn(["train.py", "--html", "r.html"])
    assert " ".join(note().split()).startswith(
        "lossdoctor: --html came after train.py, so it was passed to the script")


def test_the_scripts_own_options_and_options_before_the_script_say_nothing(note):
    _warn(["--html", "r.html", "train.py", "--epochs", "3", "--lr", "0.1"])
    assert note() == ""
