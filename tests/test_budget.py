"""--budget: the time the diagnosis may take after the run; 0 runs no experiment on copies."""

import json
import subprocess
import sys
import time

import pytest

from conftest import fit, mlp, record
from lossdoctor.checks import CheckModule
from lossdoctor.diagnosis import diagnose
from lossdoctor.experiments import Plan
from lossdoctor.findings import Skip


def test_checks_not_started_when_the_budget_ran_out_are_skipped_and_say_so():
    modules = (CheckModule("slow", lambda case: time.sleep(0.2) or [], ()),
               CheckModule("late", lambda case: [], ()))
    outcomes = {o.name: o for o in diagnose(None, modules, budget=0.1).outcomes}
    assert outcomes["slow"].status == "ran"
    assert outcomes["late"].status == "skipped" and "--budget" in outcomes["late"].reason


def test_without_experiments_no_copy_is_trained():
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    model = mlp(4, 8, 2)
    case = record(fit, model, torch.optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
                  (x[:100], y[:100]), (x[100:], y[100:]), epochs=2)
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
