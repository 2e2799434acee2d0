"""A crash that names its cause (a class label past the model's outputs, a schedule stepped past
its length) is reported as that cause, in the user's words, not by the exception's name alone
(bench/projects6's prompt masked with -100). Each test fails on d056fab (no crash reading)."""

import textwrap

import pytest

from lossdoctor.report import document
from lossdoctor.runner import run_script
from lossdoctor.verdict import diagnose_run

PREAMBLE = """
import torch
from torch import nn
torch.manual_seed(0)
x = torch.randn(128, 6)
y = torch.randint(0, 4, (128,))
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
"""
LOOP = """
for epoch in range(2):
    for start in range(0, 128, 32):
        optimizer.zero_grad()
        loss = {loss}(model(x[start:start + 32]), labels[start:start + 32])
        loss.backward()
        optimizer.step()
        {after}
"""
HAND_CE = """
def cross_entropy(logits, target):
    picked = logits.log_softmax(dim=1).gather(1, target.view(-1, 1))
    return -picked.mean()
"""


def _report(tmp_path, labels: str, loss: str = "nn.CrossEntropyLoss()", extra: str = "",
            after: str = "") -> dict:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(PREAMBLE) + extra + f"\nlabels = {labels}\n"
                      + LOOP.format(loss=loss, after=after))
    run = run_script(str(script), [])
    return document.build(run, diagnose_run(run, budget=0))


def test_labels_counted_from_one_name_label_range_with_the_label_and_the_classes(tmp_path):
    report = _report(tmp_path, "y + 1")
    assert report["script_error"] == "IndexError"
    assert "out of bounds" in report["script_error_message"]
    first = report["causes"][0]
    assert first["id"] == "label_range"
    assert first["evidence"]["label"] == 4 and first["evidence"]["classes"] == 4
    assert "labels it can take are 0 to 3" in first["verdict"]
    assert "counted from 1" in first["fix"]


def test_a_mask_value_the_loss_does_not_ignore_is_named(tmp_path):
    report = _report(tmp_path, "torch.where(y == 0, torch.tensor(-100), y)",
                     loss="nn.CrossEntropyLoss(ignore_index=-1)")
    first = report["causes"][0]
    assert first["id"] == "label_range" and first["evidence"]["label"] == -100
    assert "ignores only the label -1" in first["verdict"]


def test_a_hand_written_cross_entropy_gather_past_the_classes_is_read(tmp_path):
    report = _report(tmp_path, "y + 1", loss="cross_entropy", extra=HAND_CE)
    first = report["causes"][0]
    assert first["id"] == "label_range"
    assert first["evidence"]["classes"] == 4


def test_a_one_cycle_schedule_stepped_past_its_length_is_lr_schedule(tmp_path):
    extra = ("scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, "
             "epochs=2, steps_per_epoch=3)\n")
    report = _report(tmp_path, "y", extra=extra, after="scheduler.step()")
    first = report["causes"][0]
    assert first["id"] == "lr_schedule"
    assert first["evidence"] == {"stepped": 7.0, "total_steps": 6.0}


@pytest.mark.parametrize("crash", ["raise ValueError('my own check failed')",
                                   "[1, 2][5]"])
def test_another_crash_names_no_cause(tmp_path, crash):
    report = _report(tmp_path, "y", extra=f"def boom():\n    {crash}\n",
                     after="boom() if epoch == 1 else None")
    assert report["script_error"] in ("ValueError", "IndexError")
    assert all(c["id"] not in ("label_range", "lr_schedule") for c in report["causes"])


def test_labels_in_range_run_without_a_crash(tmp_path):
    report = _report(tmp_path, "y")
    assert report["script_error"] == "" and report["script_error_message"] == ""
    assert all(c["id"] != "label_range" for c in report["causes"])
