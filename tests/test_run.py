"""`lossdoctor run` behaves like `python SCRIPT`: same output, same exit code, same failures."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from lossdoctor import cli

TRAINING = """
import sys
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(200, 4)
y = (x[:, 0] > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
for epoch in range({epochs}):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    print(epoch, repr(loss.item()), torch.rand(1).item())
print("argv", sys.argv[1:], __name__)
{ending}
"""


def _script(tmp_path, epochs=3, ending=""):
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(TRAINING.format(epochs=epochs, ending=ending)))
    return path


def _run(*args, cwd):
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # two processes; test_exact_run's `_same` checks stdout and exit code too
def test_stdout_and_exit_code_are_the_scripts_own(tmp_path):
    script = _script(tmp_path, ending="sys.exit(3)")
    plain = _run(sys.executable, script.name, "--flag", "x", cwd=tmp_path)
    watched = _run(sys.executable, "-m", "lossdoctor", "run", "--budget", "0", script.name,
                   "--flag", "x", cwd=tmp_path)
    assert plain.returncode == watched.returncode == 3
    assert watched.stdout == plain.stdout
    assert "argv ['--flag', 'x'] __main__" in watched.stdout
    assert "training" in watched.stderr  # the diagnosis, on stderr


def test_a_missing_script_is_a_usage_error(tmp_path):
    result = _run(sys.executable, "-m", "lossdoctor", "run", "nope.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "no such script: nope.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failing_script_keeps_its_traceback_and_exit_code_and_gets_a_partial_report(tmp_path):
    script = _script(tmp_path, ending="raise ValueError('bad batch')")
    plain = _run(sys.executable, script.name, cwd=tmp_path)
    watched = _run(sys.executable, "-m", "lossdoctor", "run", "--budget", "0", "--json",
                   "out.json", script.name, cwd=tmp_path)
    assert plain.returncode == watched.returncode == 1
    assert watched.stdout == plain.stdout
    plain_tb = plain.stderr[plain.stderr.index("Traceback"):]
    assert plain_tb in watched.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["partial"] is True and report["script_error"] == "ValueError"
    assert report["steps"] == 30


def test_a_script_without_training_says_so(tmp_path, monkeypatch, capsys):
    script = tmp_path / "hello.py"
    script.write_text("import torch\nprint(torch.ones(2).sum().item())\n")
    monkeypatch.chdir(tmp_path)  # in this process: a subprocess costs seconds of imports
    assert cli.main(["run", "--json", "out.json", script.name]) == 0
    said = capsys.readouterr()
    assert said.out == "2.0\n"
    assert "No PyTorch training was seen" in said.err
    assert json.loads((tmp_path / "out.json").read_text())["status"] == "no_training"


def test_stdout_is_byte_for_byte_the_scripts_own_while_its_lines_are_read(tmp_path):
    script = tmp_path / "printing.py"
    script.write_text(textwrap.dedent("""
        import sys
        print("val_loss 0.5", end="")
        sys.stdout.write(" and more\\r\\nepoch 1 val loss: 0.25\\n")
        sys.stdout.writelines(["héllo ", "wörld\\n", "no newline at the end"])
        sys.stdout.flush()
        sys.stdout.buffer.write(b"raw bytes\\n")
        print(type(sys.stdout).__name__ != "", sys.stdout.isatty(), file=sys.stdout)
    """))
    plain = subprocess.run([sys.executable, script.name], cwd=tmp_path, capture_output=True)
    watched = subprocess.run([sys.executable, "-m", "lossdoctor", "run", script.name],
                             cwd=tmp_path, capture_output=True)
    assert plain.returncode == watched.returncode == 0
    assert watched.stdout == plain.stdout and b"val_loss" in plain.stdout


def test_the_json_report_holds_the_contract(tmp_path):
    script = _script(tmp_path, epochs=2)
    # Without zero_grad the run has a cause to report, so the causes' contract is checked too.
    script.write_text(script.read_text().replace("        optimizer.zero_grad()\n", ""))
    _run(sys.executable, "-m", "lossdoctor", "run", "--json", "out.json", script.name,
         cwd=tmp_path)
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["version"] == "1"
    assert report["setup"]["optimizer_class"] == "Adam"
    assert len(report["curves"]["train_steps"]) == 20
    assert report["causes"]
    for cause in report["causes"]:
        assert {"id", "confidence", "verdict", "evidence", "fix"} <= set(cause)
        assert 0 <= cause["confidence"] <= 1
        assert all(isinstance(v, (int, float)) for v in cause["evidence"].values())


def test_an_error_inside_lossdoctor_never_changes_the_exit_code(tmp_path, monkeypatch, capsys):
    def broken(run):
        raise RuntimeError("lossdoctor bug")

    monkeypatch.setattr("lossdoctor.verdict.diagnose_run", broken)
    monkeypatch.chdir(tmp_path)
    script = _script(tmp_path, epochs=1, ending="sys.exit(4)")
    assert cli.main(["run", str(script)]) == 4
    assert "internal error while diagnosing" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert cli.main([]) == 2
    with pytest.raises(SystemExit) as stop:
        cli.main(["run"])
    assert stop.value.code == 2
    assert "SCRIPT" in capsys.readouterr().err


def test_seed_makes_an_unseeded_script_reproducible(tmp_path, monkeypatch, capsys):
    script = tmp_path / "draw.py"
    script.write_text("import random, numpy, torch\n"
                      "print(torch.rand(1).item(), numpy.random.rand(), random.random())\n")
    monkeypatch.chdir(tmp_path)  # in this process: three subprocesses cost seconds of imports

    def drawn(seed: str) -> str:
        assert cli.main(["run", "--seed", seed, script.name]) == 0
        return capsys.readouterr().out

    runs = [drawn(seed) for seed in ("1", "1", "2")]
    assert runs[0] == runs[1] != runs[2] and runs[0].count(" ") == 2


def test_the_trained_model_is_copied_before_the_scripts_variables_go(tmp_path, monkeypatch):
    from lossdoctor.runner import run_script

    script = _script(tmp_path, epochs=2)
    monkeypatch.chdir(tmp_path)
    run = run_script(str(script), [])
    trained, initial = run.copies.final_model, run.copies.initial_model
    assert trained is not None
    pairs = zip(trained.parameters(), initial.parameters(), strict=True)
    assert all(not torch.equal(a, b) for a, b in pairs)


PLATEAU = """
import torch
from torch import nn

torch.manual_seed(0)
x, y = torch.randn(200, 6), torch.randint(0, 2, (200,))  # random labels: nothing to learn
xv, yv = torch.randn(200, 6), torch.randint(0, 2, (200,))
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(40):
    model.train()
    for i in range(0, 200, 20):
        optimizer.zero_grad()
        loss_fn(model(x[i:i + 20]), y[i:i + 20]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        print(epoch, loss_fn(model(xv), yv).item(), flush=True)
"""


def _plateau_script(tmp_path):
    path = tmp_path / "plateau.py"
    path.write_text(PLATEAU)
    return path


def _status(quiet=False):
    import io

    from rich.console import Console

    from lossdoctor.report.live import LiveStatus

    out = io.StringIO()
    return LiveStatus(line=False, quiet=quiet, console=Console(file=out, width=200)), out


def test_a_plateau_is_announced_once_while_the_run_goes_on(tmp_path, monkeypatch, capsys):
    from lossdoctor.runner import run_script

    monkeypatch.chdir(tmp_path)
    script = _plateau_script(tmp_path)
    status, said = _status()
    run = run_script(str(script), [], status=status)
    assert len(capsys.readouterr().out.splitlines()) == 40  # the run went on to its end
    assert said.getvalue().count("lossdoctor: ") == 1
    assert "constant guess" in said.getvalue()
    assert run.curve.flagged_at_epoch is not None and not run.curve.stopped_early
    quiet, said_quietly = _status(quiet=True)
    run_script(str(script), [], status=quiet)
    assert said_quietly.getvalue() == ""


def test_stop_on_plateau_ends_the_run_there_and_the_report_says_so(tmp_path, monkeypatch,
                                                                    capsys):
    from lossdoctor.runner import run_script

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("lossdoctor.verdict.diagnose_run",
                        lambda run, *rest: None)  # the curve only
    script = _plateau_script(tmp_path)
    run_script(str(script), [])
    plain = capsys.readouterr().out
    assert cli.main(["run", "--stop-on-plateau", "--json", "out.json", str(script)]) == 0
    stopped = capsys.readouterr()
    lines = stopped.out.splitlines()
    assert 5 <= len(lines) < 40
    assert plain.startswith(stopped.out)  # the same run, up to where it was stopped
    curve = json.loads((tmp_path / "out.json").read_text())["curve"]
    assert curve["stopped_early"] is True
    assert curve["stopped_at_epoch"] == len(lines) - 1
    assert curve["verdict"] in ("plateau", "at_chance")
    assert curve["since_epoch"] < len(lines)
    assert "stopped the run" in curve["message"]
    assert "lossdoctor: " in stopped.err


def test_the_report_carries_the_curve_verdict(tmp_path, monkeypatch):
    from lossdoctor.report import document
    from lossdoctor.runner import run_script

    monkeypatch.chdir(tmp_path)
    run = run_script(str(_script(tmp_path, epochs=2)), [])
    curve = document.build(run, None)["curve"]
    assert set(curve) >= {"verdict", "message", "since_step", "since_epoch", "chance_loss",
                          "stopped_early"}
    assert curve["stopped_early"] is False
