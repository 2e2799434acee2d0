"""Fault injection (issue 13): each pattern that once broke `lossdoctor run` runs under plain
python and under lossdoctor. The script's stdout must be byte-identical and its exit status the
same, with no lossdoctor traceback or internal error on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lossdoctor import cli, diagnosis
from lossdoctor.checks import CheckModule
from lossdoctor.diagnosis import CheckOutcome, Diagnosis, diagnose
from lossdoctor.report import terminal
from lossdoctor.report._common import headline

LOSSDOCTOR = [sys.executable, "-m", "lossdoctor", "run", "--quiet"]
#: What these tests check is the run, not the diagnosis: no experiment on copies, except where
#: the replays themselves are under test (options=FULL_DIAGNOSIS).
WITHOUT_EXPERIMENTS = ("--budget", "0")
FULL_DIAGNOSIS = ()
#: A lossdoctor source file named in a traceback line: what the script's tracebacks never show.
OUR_FRAME = f'{os.sep}lossdoctor{os.sep}'.encode()

#: Tiny seeded training; its model prints in forward() (every replay would print again).
TRAINING = """
import os, signal, sys, time, warnings
import torch
from torch import nn

torch.manual_seed(0)
w = torch.tensor([[1.0], [-2.0], [0.5]])
x, xv = torch.randn(96, 3), torch.randn(32, 3)
y, yv = x @ w, xv @ w


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, inputs):
        print("forward", tuple(inputs.shape))
        {in_forward}
        return self.body(inputs)


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.MSELoss()
steps = 0
for epoch in range(2):
    model.train()
    for i in range(0, 96, 16):
        optimizer.zero_grad()
        loss_fn(model(x[i:i + 16]), y[i:i + 16]).backward()
        optimizer.step()
        steps += 1
    model.eval()
    with torch.no_grad():
        print("epoch", epoch, "val loss", round(loss_fn(model(xv), yv).item(), 4))
{ending}
"""

#: What the script can see of its world, printed after training (so the model was narrowed to).
WORLD = """
import builtins, inspect
g = globals()
print("argv", sys.argv)
for key in ("__name__", "__file__", "__package__", "__spec__", "__cached__", "__doc__"):
    print(key, repr(g[key]))
print("loader", type(__loader__).__name__, __loader__.name, __loader__.path)
print("builtins is the module", __builtins__ is builtins)
print("dunder globals", sorted(k for k in g if k.startswith("__")))
print("path[0]", sys.path[0])
print("filters", [(a, str(m), c.__name__, str(mod), n) for a, m, c, mod, n in warnings.filters])
print("excepthook is python's", sys.excepthook is sys.__excepthook__)
print("Net defines", sorted(vars(Net)))
print("call", nn.Module.__call__.__name__, nn.Module.__call__.__qualname__,
      type(model).__call__.__module__)
print("main module", sys.modules["__main__"].__dict__ is g)
warnings.warn("from the script", DeprecationWarning)
warnings.warn("careful", UserWarning)
sys.exit(3)
"""


def training(in_forward: str = "pass", ending: str = "") -> str:
    return TRAINING.format(in_forward=in_forward, ending=textwrap.dedent(ending))


def _write(path, text) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def _default_signals():
    """In the child: SIGINT as a terminal gives it to python (default and unblocked), whatever
    an earlier test in this worker left in the process that starts it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _plain(cwd, *target, env=None):
    return subprocess.run([sys.executable, *target], cwd=cwd, capture_output=True, timeout=300,
                          env=env, preexec_fn=_default_signals)


def _both(cwd, *target, options=WITHOUT_EXPERIMENTS, env=None):
    """The same command under plain python and under `lossdoctor run`, in subprocesses."""
    watched = subprocess.run([*LOSSDOCTOR, *options, *target], cwd=cwd, capture_output=True,
                             timeout=300, env=env)
    return _plain(cwd, *target, env=env), watched


def _in_process(capsys, *arguments):
    """`lossdoctor run` in this process (cheap, for scripts without training): exit code,
    stdout and stderr as bytes."""
    code = cli.main(["run", *arguments])
    captured = capsys.readouterr()
    return code, captured.out.encode(), captured.err.encode()


def _same(plain, watched) -> None:
    assert watched.stdout == plain.stdout
    assert watched.returncode == plain.returncode
    _clean(watched.stderr)


def _clean(stderr: bytes) -> None:
    """No internal error, and no lossdoctor frame in any traceback."""
    assert b"internal error" not in stderr
    traceback_lines = [line for line in stderr.splitlines() if b'File "' in line]
    assert not [line for line in traceback_lines if OUR_FRAME in line]


def test_the_world_is_pythons_and_replays_print_nothing(tmp_path):
    """argv[0] as given, __main__'s attributes, warning filters and warnings, excepthook, no
    attribute set on the user's class; the diagnosis's replays of a printing forward() reach no
    stdout."""
    _write(tmp_path / "sub" / "train.py", training(ending=WORLD))
    plain, watched = _both(tmp_path, os.path.join("sub", "train.py"), "--flag", "x y",
                           options=FULL_DIAGNOSIS)
    _same(plain, watched)
    assert plain.returncode == 3
    assert b"argv ['sub/train.py', '--flag', 'x y']" in plain.stdout
    assert plain.stdout.count(b"forward (") == 2 * 6 + 2
    assert b"from the script" in plain.stderr and watched.stderr.startswith(plain.stderr)
    assert b"Watched 12 training steps" in watched.stderr  # the diagnosis ran, replays included


def test_the_scripts_excepthook_gets_a_traceback_without_lossdoctor(tmp_path):
    hook = """
        def hook(kind, error, tb):
            print("hook saw", kind.__name__, error)
            sys.__excepthook__(kind, error, tb)
        sys.excepthook = hook
    """
    script = training(in_forward="if steps == 3: raise ValueError('bad batch')")
    script = script.replace("torch.manual_seed(0)", textwrap.dedent(hook) + "torch.manual_seed(0)")
    _write(tmp_path / "fails.py", script)
    plain, watched = _both(tmp_path, "fails.py")
    _same(plain, watched)
    assert b"hook saw ValueError bad batch" in plain.stdout and plain.returncode == 1

    def script_frames(stderr):
        lines = stderr.splitlines()
        lines = lines[:lines.index(b"ValueError: bad batch") + 1]
        return [line for line in lines if str(tmp_path).encode() in line] + lines[-1:]

    # torch's own frames between may differ (its slow path while a hook is attached)
    assert script_frames(watched.stderr) == script_frames(plain.stderr)


def test_a_crash_inside_a_recorded_torch_call_has_pythons_traceback(tmp_path):
    """At the first step lossdoctor's torch-function mode records the loss: torch's dispatch
    through it (the function entered twice, handle_torch_function between) is not shown."""
    script = training().replace("loss_fn(model(x[i:i + 16]), y[i:i + 16])",
                                "nn.functional.cross_entropy(model(x[i:i + 16]), "
                                "torch.full((16,), 3))")
    _write(tmp_path / "labels.py", script)
    plain, watched = _both(tmp_path, "labels.py")
    _same(plain, watched)
    assert b"IndexError: Target 3 is out of bounds." in plain.stderr
    assert watched.stderr.startswith(plain.stderr)


def test_closed_stdout_and_stderr_do_not_stop_the_report(tmp_path):
    _write(tmp_path / "closes.py", "import sys\nprint('bye')\nsys.stdout.close()\n"
                                   "sys.stderr.close()\n")
    plain, watched = _both(tmp_path, "closes.py")
    _same(plain, watched)
    assert b"No PyTorch training was seen" in watched.stderr


def test_a_write_only_stdout_fails_at_exit_as_under_python(tmp_path):
    tee = """
    class Tee:
        def __init__(self, stream):
            self.stream = stream
        def write(self, text):
            return self.stream.write(text)
    sys.stdout = Tee(sys.stdout)
    print("through the tee")
    """
    _write(tmp_path / "tee.py", "import sys\n" + textwrap.dedent(tee))
    plain, watched = _both(tmp_path, "tee.py")
    _same(plain, watched)
    assert plain.returncode == 120  # python could not flush it at exit


def test_sigint_ends_the_run_as_python_dies_by_it_and_ctrl_c_again_leaves_a_partial_report(
        tmp_path):
    ending = "print('before', flush=True)\nos.kill(os.getpid(), signal.SIGINT)\nprint('after')"
    _write(tmp_path / "interrupted.py", training(ending=ending))
    plain = _plain(tmp_path, "interrupted.py")
    run = subprocess.Popen([*LOSSDOCTOR, "--json", "run.json", "interrupted.py"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=_default_signals)
    said = b""
    while b"Ctrl-C again" not in said:  # lossdoctor says it diagnoses what it saw
        line = run.stderr.readline()
        assert line, said.decode()
        said += line
    run.send_signal(signal.SIGINT)
    said += run.stderr.read()
    assert run.wait(timeout=120) == plain.returncode == -signal.SIGINT
    assert run.stdout.read() == plain.stdout
    assert said.startswith(plain.stderr)  # the script's KeyboardInterrupt traceback
    assert said.count(b"Traceback") == 1  # and nothing of lossdoctor's
    _clean(said)
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["exit_code"] == -signal.SIGINT and report["partial"]
    assert report["summary"]["steps"] == 12
    stopped = [check for check in report["checks"] if check["status"] == "stopped"]
    assert stopped and report["status"] != "healthy"


@pytest.mark.slow
def test_sigterm_ends_the_run_as_python_dies_by_it_and_the_report_is_written(tmp_path):
    ending = ("print('flushed', flush=True)\nprint('lost with the buffer')\n"
              "os.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(120)")
    _write(tmp_path / "terminated.py", training(ending=ending))
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    started = time.monotonic()
    plain, watched = _both(tmp_path, "terminated.py", options=("--json", "run.json"),
                           env=buffered)
    _same(plain, watched)
    assert plain.returncode == -signal.SIGTERM
    assert plain.stdout.endswith(b"flushed\n")
    assert time.monotonic() - started < 120  # neither waited for the sleep
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["exit_code"] == -signal.SIGTERM and report["script_error"] == "SIGTERM"


PROBE = ("import sys\nprint(sys.argv, __name__, __package__, __spec__ and __spec__.name, "
         "__file__, sys.path[0], type(__builtins__).__name__)\n")


@pytest.fixture
def forget_modules():
    """Modules a test runs in this process are forgotten afterwards."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_a_module_and_a_directory_run_as_with_python_m_and_python_dir(
        tmp_path, monkeypatch, capsys, forget_modules):
    _write(tmp_path / "exactpkg" / "__init__.py", "")
    _write(tmp_path / "exactpkg" / "train.py", PROBE)
    _write(tmp_path / "exactapp" / "__main__.py", PROBE)
    monkeypatch.chdir(tmp_path)
    for target in (("-m", "exactpkg.train", "a"), ("exactapp", "b"), ("-m", "missing.module"),
                   ("-m", "exactpkg")):
        plain = _plain(tmp_path, *target)
        code, out, err = _in_process(capsys, *target)
        assert (code, out) == (plain.returncode, plain.stdout)
        _clean(err)
    assert plain.returncode == 1  # python -m exactpkg: a package without __main__


@pytest.mark.parametrize("source", [b"x = (\n", b"a\x00b\n", b"\x89PNG\r\n\x1a\n\x00\x00IHDR",
                                    b"\x89PNG\r\n\x1a\nIHDR"])
def test_a_file_python_cannot_compile_fails_with_pythons_message(tmp_path, monkeypatch, capsys,
                                                                 source):
    _write(tmp_path / "broken.py", source)
    monkeypatch.chdir(tmp_path)
    plain = _plain(tmp_path, "broken.py")
    code, out, err = _in_process(capsys, "broken.py")
    assert (code, out) == (plain.returncode, plain.stdout) == (1, b"")
    assert err.startswith(plain.stderr) and b"Traceback" not in err


def test_markup_in_paths_is_shown_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for path in ("[/]x.py", "[bold red]nope[/bold red].py"):
        _write(tmp_path / path, "print('ran')\n")
        code, out, err = _in_process(capsys, path)
        assert (code, out) == (0, b"ran\n") == (_plain(tmp_path, path).returncode, out)
        _clean(err)
    code, _, err = _in_process(capsys, "[/]gone.py")
    assert code == 2 and err.startswith(b"lossdoctor: no such script: [/]gone.py.")
    assert err.count(b"\n") == 1


def test_a_bad_report_path_is_refused_before_the_script_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "train.py", "open('ran', 'w').close()\n")
    (tmp_path / "locked").mkdir(mode=0o500)
    paths = ["no_such_folder/report.out", "."] + ([] if os.geteuid() == 0 else ["locked/r"])
    for option in ("--json", "--html", "--md"):
        for path in paths:
            code, out, err = _in_process(capsys, option, path, "train.py")
            assert (code, out) == (2, b"")
            assert err.startswith(f"lossdoctor: cannot write a report to {path}".encode())
            assert err.count(b"\n") == 1
    assert not (tmp_path / "ran").exists()


def test_each_report_file_is_written_on_its_own(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "train.py", "import shutil\nshutil.rmtree('gone')\nprint('ran')\n")
    (tmp_path / "gone").mkdir()  # the script removes it: the JSON cannot be written
    code, out, err = _in_process(capsys, "--json", "gone/run.json", "--html", "run.html",
                                 "--md", "run.md", "train.py")
    assert (code, out) == (0, b"ran\n")
    assert b"could not write the JSON report to gone/run.json" in err
    assert (tmp_path / "run.html").stat().st_size > 0 and (tmp_path / "run.md").exists()


@pytest.mark.parametrize("content", [b'{"a": 1}', b"[1, 2]", b"\x89PNG\x00", b"{not json",
                                     b'{"status": "healthy", "partial": false, "causes": [{}],'
                                     b' "checks": [], "notes": [], "setup": {}, "summary": {},'
                                     b' "curves": {}}'])
def test_report_on_anything_but_a_report_is_one_clear_line(tmp_path, capsys, content):
    _write(tmp_path / "other.json", content)
    assert cli.main(["report", str(tmp_path / "other.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lossdoctor: cannot read the report {tmp_path / 'other.json'}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_check_that_failed_makes_the_diagnosis_incomplete_not_healthy():
    failed = Diagnosis(causes=[], outcomes=[CheckOutcome("x", "ran"),
                                            CheckOutcome("y", "error", "boom")])
    assert failed.status == "incomplete"
    assert Diagnosis(causes=[], outcomes=[CheckOutcome("x", "ran")]).status == "healthy"
    document = {"status": "incomplete", "partial": False, "checks": [
        {"name": "y", "status": "error", "reason": "boom", "causes": ["y"]}]}
    assert headline(document).startswith("Diagnosis incomplete: no problem found, but 1 check")


def test_a_stopped_check_stops_the_ones_after_it():
    ran = []

    def stopped(case):
        raise KeyboardInterrupt

    def never(case):
        ran.append(case)
        return []

    modules = (CheckModule("first", stopped, ()), CheckModule("second", never, ()))
    result = diagnose(object(), modules)
    assert [o.status for o in result.outcomes] == ["stopped", "stopped"]
    assert not ran and result.status == "incomplete"
    assert result.outcomes[1].reason == diagnosis.STOPPED_REASON
    text = terminal.text({"status": result.status, "partial": False, "causes": [], "notes": [],
                          "setup": {}, "summary": {}, "checks": [
                              {"name": o.name, "status": o.status, "reason": o.reason}
                              for o in result.outcomes]})
    assert "not finished, the diagnosis was stopped: first, second" in text


@pytest.mark.zoo_only
def test_a_compiled_model_runs_as_under_python(tmp_path):
    script = training().replace("model = Net()", "model = torch.compile(Net())")
    _write(tmp_path / "compiled.py", script)
    plain, watched = _both(tmp_path, "compiled.py")
    _same(plain, watched)
