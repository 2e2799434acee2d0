"""The fresh sets (bench/fresh*/) are well formed and bench/fresh.py scores them as documented.
Fast checks only: `python bench/fresh.py bench/freshNN` runs the diagnoses."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import REPO
from lossdoctor.checks import catalogue


def _load_bench():
    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("fresh_bench", REPO / "bench" / "fresh.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
SETS = sorted(path for path in (REPO / "bench").glob("fresh[0-9]*") if path.is_dir())
SCRIPTS = bench.scripts_of(SETS)


def test_there_are_fresh_sets_with_scripts():
    assert len(SETS) >= 5 and len(SCRIPTS) >= 80


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: f"{s.parent.name}/{s.stem}")
def test_each_script_expects_a_known_cause_or_nothing(script):
    expected = bench.expected_causes(script)
    assert len(expected) <= 1
    assert set(expected) <= set(catalogue())
    compile(script.read_text(encoding="utf-8"), str(script), "exec")


def test_framework_imports_are_read_from_the_syntax_tree(tmp_path):
    script = tmp_path / "s01_x.py"
    script.write_text("# lossdoctor-expect:\nimport torch\nfrom lightning.pytorch import Trainer\n"
                      "import transformers.models as m\nfrom .local import keras\n"
                      "text = 'import keras'\n")
    assert bench.frameworks_needed(script) == {"lightning", "transformers"}


def test_the_import_test_chooses_keras_torch_backend_as_the_scripts_do(tmp_path, monkeypatch):
    """Keras 3 imports TensorFlow unless KERAS_BACKEND says otherwise: without it the Keras
    scripts were listed as skipped on a Python that runs them."""
    (tmp_path / "backend_bound.py").write_text(
        "import os\nif os.environ.get('KERAS_BACKEND') != 'torch':\n"
        "    raise ImportError('no TensorFlow here')\n")
    monkeypatch.chdir(tmp_path)  # `python -c` imports from the working directory
    assert bench.importable(sys.executable, "backend_bound")
    assert not bench.importable(sys.executable, "no_such_module_here")


def _result(expected: str, status: str, reported: list[str]):
    return bench.Result(REPO / "bench" / "s01_x.py", expected, bench.Run(status, reported, 1.0))


def test_a_broken_script_is_right_only_with_its_cause_first():
    assert _result("lr_too_high", "causes_found", ["lr_too_high", "bad_init"]).right
    assert not _result("lr_too_high", "causes_found", ["bad_init", "lr_too_high"]).right
    called_healthy = _result("lr_too_high", "healthy", [])
    assert not called_healthy.right and called_healthy.broken_called_healthy


def test_a_healthy_twin_is_right_only_when_called_healthy():
    assert _result("", "healthy", []).right
    alarmed = _result("", "causes_found", ["overfitting"])
    assert not alarmed.right and alarmed.twin_with_a_cause
    assert not _result("", "unexplained", []).right


def test_totals_count_misses_and_skips():
    results = [_result("lr_too_high", "healthy", []), _result("", "causes_found", ["overfitting"]),
               _result("", "healthy", []),
               bench.Result(REPO / "s04.py", "frozen_params", bench.NOT_RUN, skipped="no keras")]
    text = bench.totals(results)
    assert "right first: 1/3" in text
    assert "broken scripts called healthy: 1" in text
    assert "healthy twins with a cause: 1" in text
    assert "skipped: 1" in text
