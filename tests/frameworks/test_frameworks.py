"""Training done by frameworks, seen through `lossdoctor run` on the user's script unchanged:
Lightning's Trainer.fit, the Hugging Face Trainer (the loss computed inside the model) and Keras 3
model.fit on the torch backend. Each script (scripts/) trains on seeded synthetic data; injected
bugs must get the cause the same bug gets in a plain PyTorch loop (scripts/plain_loop.py).

Opt-in: `pip install -e ".[frameworks]"`, then `python -m pytest -m frameworks tests/frameworks`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.frameworks

SCRIPTS = Path(__file__).resolve().parent / "scripts"
SRC = Path(__file__).resolve().parents[2] / "src"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch",
       "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
       "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
TIMEOUT = 600
#: The cause each injected bug gets in a plain loop (checked on the plain loop too).
BUG_CAUSES = {"lr": "lr_too_high", "labels": "no_signal", "scale": "unnormalized_inputs"}
#: Lines that report timings, whose numbers change from run to run with or without lossdoctor.
TIMING = re.compile(r"runtime|per_second|/step|\d+s\b")


@dataclass(frozen=True)
class Framework:
    name: str
    script: str
    package: str
    plain_twin: str  # the task in plain_loop.py
    steps: int  # training steps the script takes
    bugs: tuple[str, ...]


FRAMEWORKS = [
    Framework("lightning", "lightning_mlp.py", "lightning", "mlp", 480, ("lr", "labels", "scale")),
    Framework("hf_trainer", "hf_trainer.py", "transformers", "bert", 192, ("lr", "labels")),
    Framework("keras", "keras_fit.py", "keras", "mlp", 480, ("lr", "labels", "scale")),
]


@dataclass
class Run:
    returncode: int
    stdout: str
    report: dict | None


@cache
def watched(script: str, *args: str) -> Run:
    """`lossdoctor run --json` on a script in scripts/, once per script and arguments."""
    report_path = SCRIPTS / f".report-{os.getpid()}.json"
    done = subprocess.run([sys.executable, "-m", "lossdoctor", "run", "--quiet", "--json",
                           str(report_path), script, *args], cwd=SCRIPTS, env=ENV,
                          capture_output=True, text=True, timeout=TIMEOUT)
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    report_path.unlink(missing_ok=True)
    return Run(done.returncode, done.stdout, report)


def plain(script: str, *args: str) -> Run:
    done = subprocess.run([sys.executable, script, *args], cwd=SCRIPTS, env=ENV,
                          capture_output=True, text=True, timeout=TIMEOUT)
    return Run(done.returncode, done.stdout, None)


def without_timings(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if not TIMING.search(line)]


def top_cause(report: dict) -> str | None:
    return report["causes"][0]["id"] if report["causes"] else None


def failed_checks(report: dict) -> dict[str, str]:
    return {c["name"]: c["reason"] for c in report["checks"] if c["status"] == "error"}


def needs(framework: Framework) -> None:
    """Skip when the framework is not installed (found, not imported: Keras imported here,
    without KERAS_BACKEND=torch, would look for TensorFlow)."""
    if importlib.util.find_spec(framework.package) is None:
        pytest.skip(f"needs {framework.package}: pip install -e '.[frameworks]'")


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.name)
def test_the_run_is_unchanged_and_its_training_is_seen(framework):
    needs(framework)
    own, run = plain(framework.script), watched(framework.script)
    assert run.returncode == own.returncode == 0
    assert without_timings(run.stdout) == without_timings(own.stdout)
    report = run.report
    assert report["steps"] == framework.steps
    assert len(report["curves"]["train_steps"]) == framework.steps
    assert report["summary"]["train_last"] < report["summary"]["train_first"]
    assert report["summary"]["validation_passes"] >= 6
    assert report["summary"]["validation_last"] < report["summary"]["validation_first"]


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.name)
def test_no_check_fails_inside_lossdoctor(framework):
    needs(framework)
    assert failed_checks(watched(framework.script).report) == {}


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.name)
def test_the_healthy_run_is_not_reported_broken(framework):
    """The HF run converges near 0 (validation 0.02): a fix must beat it by a share of the
    constant guess's loss, not only relatively (checks/_fix.py)."""
    needs(framework)
    report = watched(framework.script).report
    assert report["status"] == "healthy", report["causes"]


def test_lightning_without_validation_is_seen():
    needs(FRAMEWORKS[0])
    run = watched("lightning_mlp.py", "--no-val")
    assert run.returncode == 0
    assert run.report["steps"] == 480
    assert run.report["summary"]["validation_passes"] == 0
    assert failed_checks(run.report) == {}


BUGGED = [(f, bug) for f in FRAMEWORKS for bug in f.bugs]


@pytest.mark.parametrize("framework,bug", BUGGED, ids=[f"{f.name}-{b}" for f, b in BUGGED])
def test_an_injected_bug_gets_the_cause_it_gets_in_a_plain_loop(framework, bug):
    needs(framework)
    reference = watched("plain_loop.py", framework.plain_twin, "--bug", bug).report
    assert top_cause(reference) == BUG_CAUSES[bug]
    report = watched(framework.script, "--bug", bug).report
    assert top_cause(report) == top_cause(reference), [c["id"] for c in report["causes"]]
    assert failed_checks(report) == {}
