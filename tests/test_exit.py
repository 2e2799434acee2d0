"""`lossdoctor run` ends as soon as its report is written: what the run left is not scanned for
cycles at exit (2.6-3.1 s on the demo), and nothing a plain run does at exit is skipped (the
subprocess test, marked slow: it starts torch)."""

import atexit
import gc
import subprocess
import sys

import pytest

from lossdoctor import cli, own_output

TRAINING = """\
import sys
import torch
from torch import nn

model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(5):
    optimizer.zero_grad()
    nn.functional.mse_loss(model(torch.ones(4, 3)), torch.zeros(4, 1)).backward()
    optimizer.step()
sys.exit(3)
"""

#: The training, with an exit handler and a module global finalized at exit, each writing a file
#: (run in a subprocess only: in this process they would run at the tests' exit).
WITH_EXIT_WORK = TRAINING.replace("model = ", """\
import atexit

class Flushed:
    def __del__(self, open=open):  # builtins may be gone by then
        open("finalized.txt", "w").write("yes")

kept = Flushed()
atexit.register(lambda: open("atexit.txt", "w").write("yes"))
model = """, 1)


@pytest.fixture
def script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(own_output, "take_stderr", lambda: None)
    monkeypatch.setattr(own_output, "_stderr", None)  # an earlier test's handle may be closed
    path = tmp_path / "train.py"
    path.write_text(TRAINING)
    return path


def test_the_command_leaves_what_the_run_kept_to_the_exit_and_keeps_the_exit_code(
        script, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["lossdoctor", "run", "--budget", "0", str(script)])
    exit_handlers_run = []  # this test process' own must not run: they are noted instead
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: exit_handlers_run.append(True))
    try:
        assert cli.main() == 3
        assert gc.get_freeze_count() > 0 and exit_handlers_run == [True]
    finally:
        gc.unfreeze()


def test_a_caller_in_python_keeps_its_garbage_collector_as_it_was(script):
    assert cli.main(["run", "--budget", "0", str(script)]) == 3
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_the_scripts_exit_handlers_and_finalizers_still_run(script, tmp_path):
    script.write_text(WITH_EXIT_WORK)
    done = subprocess.run([sys.executable, "-m", "lossdoctor", "run", "--budget", "0",
                           str(script)], cwd=tmp_path, capture_output=True, timeout=300)
    assert done.returncode == 3
    assert (tmp_path / "atexit.txt").read_text() == "yes"
    assert (tmp_path / "finalized.txt").read_text() == "yes"
