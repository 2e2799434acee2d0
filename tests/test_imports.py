"""lossdoctor's modules import one another one way, as the data flows: script -> events ->
trace -> checks (experiments on copies) -> findings -> diagnosis -> report. No module imports
itself, however indirectly, by imports at the top of a file or inside functions.

What counts as an import (an edge of the module graph):
- every ``import`` and ``from ... import`` anywhere in a module: at the top, inside functions,
  under ``if TYPE_CHECKING``; relative imports are resolved;
- ``import a.b.c`` is an edge to ``a.b.c``; ``from a.b import c`` is an edge to the submodule
  ``a.b.c`` when there is one, else to the package ``a.b`` (``c`` is a name defined in its
  ``__init__``);
- the checks package imports its check modules by name (``discover_checks``): those edges are
  added from DYNAMIC_IMPORTS, and any other module importing by name fails the test until it is
  listed there.

What does not count: the implicit import of parent packages. Importing
``lossdoctor.capture.tensors`` first runs ``lossdoctor/__init__.py`` and
``lossdoctor/capture/__init__.py`` (which imports the Recorder). Python starts a package's
``__init__`` before its submodules, and a submodule depends on it only by importing a name from
it (``from lossdoctor import __version__``), which is an explicit edge and counted. Counting the
implicit ones would make every package that re-exports a submodule import itself.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

import lossdoctor

SOURCE = Path(lossdoctor.__file__).parent
CHECKS = "lossdoctor.checks"

#: Modules that import others by name at run time, and what they import.
DYNAMIC_IMPORTS = {
    CHECKS: lambda modules: {m for m in modules if _is_check(m)},  # discover_checks()
}

#: What runs and watches the training; the diagnosis and the report read plain data instead.
RUN_MACHINERY = {"lossdoctor.runner", "lossdoctor.session", "lossdoctor.monitor",
                 "lossdoctor.cli", "lossdoctor.capture", "lossdoctor.capture.hooks",
                 "lossdoctor.capture.recorder"}

#: Everything downstream of the events: what a run produced is judged and shown from data.
DOWNSTREAM_PREFIXES = ("lossdoctor.report", "lossdoctor.checks", "lossdoctor.verdict",
                       "lossdoctor.diagnosis", "lossdoctor.case", "lossdoctor.script_run")


def modules_in(source: Path) -> dict[str, Path]:
    """Module name -> file, for every module of the package at ``source``."""
    found = {}
    for path in sorted(source.rglob("*.py")):
        parts = list(path.relative_to(source.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(module: str, path: Path, modules: dict) -> set[str]:
    """Every module ``module`` imports (``modules`` tells a submodule from a name)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, package)
            found |= {_from_target(base, alias.name, modules) for alias in node.names}
    return found


def _from_base(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module
    parts = package.split(".")
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _from_target(base: str, name: str, modules: dict) -> str:
    """``from base import name``: the submodule base.name if there is one, else base."""
    submodule = f"{base}.{name}"
    return submodule if submodule in modules else base


def module_graph(source: Path, dynamic: dict | None = None) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (see the module docstring for the rules)."""
    modules = modules_in(source)
    graph = {}
    for module, path in modules.items():
        found = imports_of(module, path, modules)
        if dynamic and module in dynamic:
            found |= dynamic[module](modules)
        graph[module] = (found & modules.keys()) - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for module in graph[todo.pop()] - seen:
            seen.add(module)
            todo.append(module)
    return seen


def _is_check(module: str) -> bool:
    """A cause's own module in checks/ (helpers there start with an underscore)."""
    package, _, name = module.rpartition(".")
    return package == CHECKS and not name.startswith("_")


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return module_graph(SOURCE, DYNAMIC_IMPORTS)


def test_no_module_imports_itself(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_diagnosis_and_the_report_never_import_what_runs_the_training(graph):
    downstream = [m for m in graph if m.startswith(DOWNSTREAM_PREFIXES)]
    assert downstream
    wrong = {m: sorted(reachable(graph, m) & RUN_MACHINERY) for m in downstream}
    assert not {m: found for m, found in wrong.items() if found}


def test_the_capture_knows_nothing_of_what_reads_its_events(graph):
    capture = [m for m in graph if m.startswith("lossdoctor.capture")]
    readers = {m for m in RUN_MACHINERY if not m.startswith("lossdoctor.capture")}
    readers |= {m for m in graph if m.startswith(DOWNSTREAM_PREFIXES)}
    wrong = {m: sorted(reachable(graph, m) & readers) for m in capture}
    assert not {m: found for m, found in wrong.items() if found}


def test_only_the_listed_modules_import_by_name():
    modules = modules_in(SOURCE)
    by_name = [m for m, path in modules.items()
               if "importlib" in imports_of(m, path, modules) or "__import__(" in path.read_text()]
    assert sorted(by_name) == sorted(DYNAMIC_IMPORTS)



def test_no_check_module_imports_another(graph):
    checks = [m for m in graph if m.startswith(CHECKS + ".")]
    edges = sorted((m, other) for m in checks for other in graph[m]
                   if _is_check(other) and other != m)
    assert not edges, "check modules importing check modules: " + ", ".join(
        f"{a} -> {b}" for a, b in edges)


def test_cycles_through_function_local_and_relative_imports_are_found(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def late():\n    from .. import a\n")
    assert find_cycle(module_graph(package)) in (["pkg.a", "pkg.sub.b", "pkg.a"],
                                                 ["pkg.sub.b", "pkg.a", "pkg.sub.b"])


def test_a_name_imported_from_a_package_depends_on_its_init(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.a import thing\n")
    (package / "a.py").write_text("thing = 1\n")
    (package / "b.py").write_text("from pkg import thing\n")
    graph = module_graph(package)
    assert graph["pkg.b"] == {"pkg"} and graph["pkg"] == {"pkg.a"}
    assert find_cycle(graph) is None  # the package's own import of a is no cycle


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["run", "--budget", "x", "a.py"],
                                  ["run", "no_such_script.py"]])
def test_help_and_argument_errors_answer_without_importing_torch(argv):
    """They answer in a fraction of a second: PyTorch alone takes seconds to import."""
    code = ("import sys\nfrom lossdoctor.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)")
    assert _printed_last(code) == "False"


def _printed_last(code: str, timeout: float = 60) -> str:
    """The last line a fresh interpreter prints running ``code`` (its stderr on failure)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return lines[-1]


def test_lossdoctor_watch_stays_the_function_whatever_was_imported_first():
    """The integrations import the watch session's module; that must not replace the function
    people call as ``lossdoctor.watch()``."""
    code = ("import lossdoctor.integrations._fit, lossdoctor\n"
            "print(callable(lossdoctor.watch), type(lossdoctor.watch).__name__)")
    assert _printed_last(code, timeout=120).split() == ["True", "function"]


def test_report_files_other_than_html_are_written_without_importing_matplotlib(tmp_path):
    """Only the HTML report draws figures; matplotlib costs every run a second of CPU."""
    path = tmp_path / "run.json"
    options = f"types.SimpleNamespace(json={str(path)!r}, html=None, md=None)"
    code = ("import sys, types\nfrom lossdoctor import cli\n"
            f"cli._write_files({{'status': 'healthy'}}, {options})\n"
            "print('matplotlib' in sys.modules)")
    assert _printed_last(code) == "False"
    assert '"healthy"' in path.read_text()
