"""The docs that list causes are generated from the declarations, and the example in
docs/adding-a-cause.md really adds a cause with no other edit."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from lossdoctor.cause_docs import DOCUMENTS, ROOT, replaced

SOURCE = ROOT / "src" / "lossdoctor"
GUIDE = ROOT / "docs" / "adding-a-cause.md"
TINY_RUN = """
import torch
torch.manual_seed(0)
x, y = torch.randn(64, 3), torch.randn(64, 1)
model = torch.nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(3):
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()
"""


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_committed_cause_tables_are_what_the_declarations_generate(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert replaced(text, DOCUMENTS[name](), name) == text, (
        f"{name} is stale: run python -m lossdoctor.cause_docs")


def test_the_generated_readme_table_has_a_row_per_cause():
    from lossdoctor.checks import catalogue

    table = DOCUMENTS["README.md"]()
    assert all(f"| `{cause_id}` |" in table for cause_id in catalogue())


def _first_python_block(markdown: str) -> str:
    match = re.search(r"```python\n(.*?)```", markdown, re.S)
    assert match, "docs/adding-a-cause.md has no ```python block"
    return match.group(1)


def test_the_guides_module_adds_a_reported_cause_with_no_other_edit(tmp_path):
    package = tmp_path / "lossdoctor"
    shutil.copytree(SOURCE, package, ignore=shutil.ignore_patterns("__pycache__"))
    module = _first_python_block(GUIDE.read_text(encoding="utf-8"))
    (package / "checks" / "always_example.py").write_text(module, encoding="utf-8")
    script, report = tmp_path / "train.py", tmp_path / "report.json"
    script.write_text(TINY_RUN, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "lossdoctor", "run", "--quiet", "--json",
                           str(report), str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    causes = {c["id"]: c for c in json.loads(report.read_text())["causes"]}
    assert "always_example" in causes, done.stderr[-2000:]
    assert causes["always_example"]["confidence"] >= 0.5
