"""`torchrun --nproc_per_node=2 -m lossdoctor run train.py`: one diagnosis, from rank 0, one
report; the other rank runs the script as python would and says nothing; experiments run on
the module DistributedDataParallel wraps, with no collective call. The runs use gloo on CPU
(tests/ddp_script.py); the full diagnoses cost ~25 s of CPU each and are marked slow."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lossdoctor import cli, distributed, own_output

DDP_SCRIPT = Path(__file__).with_name("ddp_script.py")
RANKS = 2
#: torchrun's exit status when a rank fails, whatever the rank's own.
TORCHRUN_FAILED = 1
#: What rank 0 of tests/ddp_script.py prints after each epoch.
EPOCH_LINE = re.compile(r"epoch \d+ val_loss \d+\.\d{4}")
#: The line each diagnosis starts its summary with, once per diagnosis.
DIAGNOSIS_LINE = re.compile(r"^Watched \d+ training steps", re.MULTILINE)


def _torchrun(*words, cwd):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={RANKS}", *words]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=600)


def _watched(tmp_path, *lossdoctor_options, script_args=()):
    report = tmp_path / "run.json"
    result = _torchrun("-m", "lossdoctor", "run", "--json", str(report), *lossdoctor_options,
                       str(DDP_SCRIPT), *script_args, cwd=tmp_path)
    return result, json.loads(report.read_text()) if report.exists() else None


def _unfinished_checks(report):
    """Checks that failed inside lossdoctor, or that were stopped before they finished."""
    return [(c["name"], c["reason"]) for c in report["checks"]
            if c["status"] not in ("ran", "skipped")]


def test_a_torchrun_run_prints_one_diagnosis_and_writes_one_report(tmp_path):
    result, report = _watched(tmp_path, "--budget", "0",
                              script_args=["--epochs", "2", "--exit-code", "3"])
    assert result.returncode == TORCHRUN_FAILED
    assert result.stdout.splitlines() == [line for line in result.stdout.splitlines()
                                          if EPOCH_LINE.fullmatch(line)]
    assert len(result.stdout.splitlines()) == 2  # rank 0's lines, once
    assert len(DIAGNOSIS_LINE.findall(result.stderr)) == 1
    assert "Default process group" not in result.stderr
    assert report["exit_code"] == 3
    assert report["steps"] == 2 * 15  # rank 0's share: 450 rows in batches of 32, two epochs
    assert report["setup"]["model_class"] == "Sequential"  # DDP's module, not the wrapper
    assert any(note.startswith("Rank 0 of 2 was watched") for note in report["notes"])
    assert _unfinished_checks(report) == []


@pytest.mark.slow
def test_inputs_a_thousand_times_too_large_are_found_under_torchrun(tmp_path):
    """Every rank exits 3, and torchrun stops the ranks still running as soon as one fails:
    rank 1 holds its exit until rank 0's diagnosis is done, so no check is cut short."""
    scaled = ["--input-scale", "1000", "--exit-code", "3"]
    plain = _torchrun(str(DDP_SCRIPT), *scaled, cwd=tmp_path)
    result, report = _watched(tmp_path, script_args=scaled)
    assert result.returncode == plain.returncode == TORCHRUN_FAILED
    assert result.stdout == plain.stdout
    assert len(DIAGNOSIS_LINE.findall(result.stderr)) == 1
    assert _unfinished_checks(report) == []
    assert report["causes"][0]["id"] == "unnormalized_inputs"
    assert report["causes"][0]["experiment"]["after"] < report["causes"][0]["experiment"]["before"]


@pytest.mark.slow
def test_the_healthy_twin_is_called_healthy_even_when_it_keeps_its_process_group(tmp_path):
    """Without destroy_process_group(), rank 0's group is still up when the diagnosis starts:
    an experiment that called a collective would wait forever for rank 1, which has ended."""
    result, report = _watched(tmp_path, script_args=["--keep-process-group"])
    assert result.returncode == 0
    assert len(DIAGNOSIS_LINE.findall(result.stderr)) == 1
    assert _unfinished_checks(report) == []
    assert report["status"] == "healthy"
    assert report["causes"] == []


TRAINING = """
import sys
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 3), torch.randn(64, 1)
for step in range(20):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
print("done", sys.argv[1:])
sys.exit(3)
"""


@pytest.fixture
def lossdoctor_stderr(monkeypatch, capfd):
    monkeypatch.setattr(own_output, "_stderr", None)  # lossdoctor writes to the captured stderr
    return capfd


def _as_rank(rank: int, tmp_path, monkeypatch):
    """The training script and its report path, in a process torchrun made rank ``rank`` of 2."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAINING))
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(own_output, "take_stderr", lambda: None)
    return script, tmp_path / "run.json"


def test_another_rank_runs_the_script_as_python_would_and_writes_nothing(
        tmp_path, monkeypatch, lossdoctor_stderr):
    script, report = _as_rank(1, tmp_path, monkeypatch)
    exit_code = cli.main(["run", "--json", str(report), str(script), "--epochs", "2",
                          "--html", "r.html"])  # a slipped option: rank 0 alone says so
    out, err = lossdoctor_stderr.readouterr()
    assert exit_code == 3
    assert out == "done ['--epochs', '2', '--html', 'r.html']\n"
    assert err == ""
    assert not report.exists()


def test_rank_zero_of_two_diagnoses(tmp_path, monkeypatch, lossdoctor_stderr):
    script, report = _as_rank(0, tmp_path, monkeypatch)
    assert cli.main(["run", "--budget", "0", "--json", str(report), str(script)]) == 3
    assert len(DIAGNOSIS_LINE.findall(lossdoctor_stderr.readouterr().err)) == 1
    assert json.loads(report.read_text())["exit_code"] == 3


def test_the_rank_comes_from_torchruns_environment(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert (distributed.rank(), distributed.world_size(), distributed.is_other_rank()) == (0, 1,
                                                                                          False)
    monkeypatch.setenv("RANK", "3")  # alone, it may be anything's
    assert distributed.rank() == 0
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert (distributed.rank(), distributed.world_size(), distributed.is_other_rank()) == (3, 4,
                                                                                          True)


@pytest.mark.parametrize("words, command", [
    (["torchrun", "--nproc_per_node=2", "train.py", "--epochs", "3"],
     "torchrun --nproc_per_node=2 -m lossdoctor run --json r.json train.py --epochs 3"),
    (["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "pkg.train"],
     "torchrun --standalone --nproc-per-node 2 -m lossdoctor run --json r.json -m pkg.train"),
    (["/usr/bin/torchrun", "--no-python", "python", "train.py"],
     "torchrun -m lossdoctor run --json r.json train.py"),
    (["torchrun"], "torchrun --nproc_per_node=N -m lossdoctor run --json r.json train.py ARGS"),
])
def test_lossdoctor_around_torchrun_says_the_command_that_runs_it_inside(
        words, command, lossdoctor_stderr):
    assert cli.main(["run", "--json", "r.json", *words]) == cli.EXIT_USAGE
    said = " ".join(lossdoctor_stderr.readouterr().err.split())
    assert said == f"lossdoctor: lossdoctor runs inside torchrun, once per rank, not around it: " \
                   f"`{command}`."


@pytest.fixture
def one_rank_group():
    """A real gloo process group of one rank, in this process (whose sys.excepthook, which
    torch replaces by one that writes "[rank0]:" before each line, is put back after)."""
    import torch.distributed as dist

    excepthook = sys.excepthook
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield dist
    if dist.is_initialized():
        dist.destroy_process_group()
    sys.excepthook = excepthook


def test_experiments_copy_the_module_ddp_wraps_once_the_process_group_is_gone(one_rank_group):
    import copy

    import torch
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    from lossdoctor.capture.model_copy import kept_copy
    from lossdoctor.capture.tracing import plain_module

    model = DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
    assert plain_module(model) is model.module
    with distributed.diagnosing() as here:
        assert here
        assert not one_rank_group.is_initialized()
        with pytest.raises(ValueError, match="process group"):
            copy.deepcopy(model)  # what the experiments did before: DDP needs its group
        replica = kept_copy(plain_module(model))
        replica(torch.randn(16, 4)).sum().backward()
    assert all(p.grad is not None for p in replica.parameters())


def test_stop_on_plateau_is_off_under_torchrun_and_rank_zero_says_so(
        tmp_path, monkeypatch, lossdoctor_stderr):
    script, _ = _as_rank(0, tmp_path, monkeypatch)
    assert cli.main(["run", "--stop-on-plateau", "--budget", "0", str(script)]) == 3
    said = " ".join(lossdoctor_stderr.readouterr().err.split())
    assert "--stop-on-plateau is off under torchrun" in said
