"""A script that keeps no validation set: the report says what the experiments held out instead,
and the run's own training curve still shows the symptom (such a run is never called healthy)."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from conftest import record
from lossdoctor.capture.copies import Copies
from lossdoctor.capture.sample import Batch
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.experiments import split_batches
from lossdoctor.report.document import validation_data

TRAINING_ONLY = """
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(600, 6)
y = (x[:, 0] + x[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.Adam(model.parameters(), lr={lr})
loss_fn = nn.CrossEntropyLoss()
for epoch in range(8):
    order = torch.randperm(600)
    for start in range(0, 600, 30):
        rows = order[start:start + 30]
        optimizer.zero_grad()
        loss = loss_fn(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
    print(f"epoch {{epoch}} train_loss {{loss.item():.4f}}")
"""

HELD_OUT = "No validation data was seen: experiments held out"


def _diagnose(tmp_path, lr):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAINING_ONLY.format(lr=lr)))
    result = subprocess.run(
        [sys.executable, "-m", "lossdoctor", "run", "--quiet", "--json", "run.json", "--html",
         "run.html", script.name], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "run.json").read_text())
    return result.stderr, document, (tmp_path / "run.html").read_text()


@pytest.mark.slow  # a whole diagnosis; faster tests check its mechanism
def test_a_broken_run_without_validation_says_what_was_held_out_and_is_never_healthy(tmp_path):
    stderr, document, page = _diagnose(tmp_path, lr=1e-7)
    data = document["validation_data"]
    assert data["seen"] is False and data["held_out_batches"] > 0
    assert data["held_out_batches"] == data["training_batches"] // 5
    said = f"{HELD_OUT} {data['held_out_batches']} of the {data['training_batches']} training"
    assert said in " ".join(stderr.split())
    assert said in " ".join(page.split())
    assert document["summary"]["validation_passes"] == 0
    assert document["symptom"] is not None
    assert document["status"] in ("causes_found", "unexplained")


def test_a_run_with_validation_batches_holds_nothing_out():
    copies = Copies()
    batch = Batch(args=(), kwargs={}, target=None, rows=1)
    assert validation_data(copies) == {"seen": False, "held_out_batches": 0,
                                       "held_out_rows": 0, "training_batches": 0}
    copies.validation.batches.append(batch)
    assert validation_data(copies)["seen"] is False  # a batch without targets is no validation


def _full_batch(rows: int, hidden_state: bool = False) -> Copies:
    copies = Copies()
    inputs = torch.arange(rows, dtype=torch.float32)[:, None]
    args = (inputs, torch.zeros(1, rows, 4)) if hidden_state else (inputs,)
    copies.train.batches.append(Batch(args=args, kwargs={}, target=inputs ** 3, rows=rows))
    return copies


def test_a_full_batch_run_without_validation_holds_out_every_fifth_row():
    """The forum thread's cubic regression trains on all 3,999 sorted inputs at once with no
    validation set: no batch could be held out, so no replay could be judged. Every fifth row
    stands in, spread between the training rows (the last fifth would be all extrapolation)."""
    train, held_out = split_batches(_full_batch(100))
    assert [b.rows for b in train] == [80] and [b.rows for b in held_out] == [20]
    assert held_out[0].args[0][:3, 0].tolist() == [4.0, 9.0, 14.0]
    assert torch.equal(held_out[0].target, held_out[0].args[0] ** 3)  # pairs kept together
    assert not set(train[0].args[0][:, 0].tolist()) & set(held_out[0].args[0][:, 0].tolist())
    data = validation_data(_full_batch(100))
    assert data["held_out_rows"] == 20 and data["held_out_batches"] == 0


def test_rows_are_not_held_out_of_small_batches_or_of_tensors_not_one_row_each():
    assert split_batches(_full_batch(10))[1] == []
    assert split_batches(_full_batch(100, hidden_state=True))[1] == []


def _forty_steps(model, optimizer, loss_fn, x, y):
    """Training only: 40 steps of 30 rows, no validation pass."""
    for step in range(40):
        rows = slice(30 * (step % 20), 30 * (step % 20) + 30)
        optimizer.zero_grad()
        loss_fn(model(x[rows]), y[rows]).backward()
        optimizer.step()


def test_a_short_run_without_validation_is_measured_at_its_own_length():
    """The run's level is where its setup gets in its 40 steps, not in the baseline's 300: a
    fix's replay compared with the 300-step best was compared with training 7 times longer."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(600, 6, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))
    case = record(_forty_steps, model, torch.optim.SGD(model.parameters(), lr=0.01),
                  nn.CrossEntropyLoss(), x, y)
    assert case.trace.steps == 40 and not case.trace.validation_passes()
    run = case.run_best_validation()
    assert run > 1.1 * case.baseline.best_validation  # 300 steps get much further
    assert case.baseline.planned_steps == REPLAY_STEPS
