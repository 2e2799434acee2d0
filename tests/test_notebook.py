"""The watch() report in Jupyter, tested by running a small notebook in a real kernel (nbclient):
the report shows inline as the HTML report with its figures, its repr is short, render() prints
to stdout (not red stderr) without naming command-line flags, and the save_* methods write files.

Opt-in: `pip install -e ".[notebook]"`, then `python -m pytest -m notebook tests/test_notebook.py`.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.notebook

SRC = Path(__file__).resolve().parents[1] / "src"
#: Seconds a cell may take: the training and its diagnosis take a few.
CELL_TIMEOUT = 300
#: The training a user might run in a notebook: inputs left at a scale of 1000, the mistake
#: lossdoctor should name (so that the report has a cause, its figures and its fix).
TRAIN = """
import sys
sys.path.insert(0, {src!r})
import os
os.environ["OMP_NUM_THREADS"] = "1"
import torch
from torch import nn
import lossdoctor

torch.manual_seed(0)
x = torch.randn(600, 8) * 1000
y = (x[:, 0] - x[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
with lossdoctor.watch() as doctor:
    for epoch in range(8):
        for start in range(0, 500, 50):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[start:start + 50]), y[start:start + 50]).backward()
            optimizer.step()
        with torch.no_grad():
            nn.functional.cross_entropy(model(x[500:]), y[500:])
report = doctor.diagnose()
"""


def _notebook(directory: Path):
    cells = [TRAIN.format(src=str(SRC)), "report", "report.render()",
             f"report.save_html({str(directory / 'r.html')!r})\n"
             f"report.save_markdown({str(directory / 'r.md')!r})\n"
             f"report.save_json({str(directory / 'r.json')!r})"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in cells]
    return notebook


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("notebook")
    notebook = _notebook(directory)
    nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(directory)}}).execute()
    return notebook, directory


def _outputs(cell) -> list:
    return cell["outputs"]


def test_the_report_shows_inline_as_html_with_its_figures(executed):
    notebook, _ = executed
    (shown,) = [o for o in _outputs(notebook.cells[1]) if o["output_type"] == "execute_result"]
    page = shown["data"]["text/html"]
    assert page.startswith("<iframe") and "srcdoc=" in page
    assert "data:image/svg+xml;base64," in page  # the figures travel with the page
    assert "unnormalized_inputs" in page


def test_the_repr_is_short_and_names_the_verdict(executed):
    notebook, _ = executed
    (shown,) = [o for o in _outputs(notebook.cells[1]) if o["output_type"] == "execute_result"]
    text = shown["data"]["text/plain"]
    assert len(text) < 300 and text.count("\n") <= 1
    assert "unnormalized_inputs" in text


def test_render_prints_to_stdout_without_command_line_flags(executed):
    notebook, _ = executed
    streams = _outputs(notebook.cells[2])
    assert streams and {o["name"] for o in streams} == {"stdout"}
    printed = "".join(o["text"] for o in streams)
    assert "cause" in printed and "fix:" in printed
    assert "--verbose" not in printed and "--html" not in printed
    assert "render(verbose=True)" in printed


def test_the_report_files_are_written(executed):
    notebook, directory = executed
    assert not any(o["output_type"] == "error" for c in notebook.cells for o in _outputs(c))
    assert "data:image/svg+xml" in (directory / "r.html").read_text()
    assert "unnormalized_inputs" in (directory / "r.md").read_text()
    assert json.loads((directory / "r.json").read_text())["causes"][0]["id"] == (
        "unnormalized_inputs")
