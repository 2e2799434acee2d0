"""The cause catalogue: declared by the check modules, validated at discovery."""

from pathlib import Path

import pytest

from lossdoctor import checks
from lossdoctor.checks import (
    CatalogueError,
    _declared,
    _validate_catalogue,
    catalogue,
    check_modules,
)
from lossdoctor.findings import FIGURES, Cause


def _cause(id="some_cause", **overrides):
    fields = dict(id=id, title="t", fix="f", question="q?", test="how")
    return Cause(**{**fields, **overrides})


class _Module:
    """A stand-in for a check module: a name, CAUSES and check."""

    def __init__(self, name, causes, check=lambda case: []):
        self.__name__ = f"lossdoctor.checks.{name}"
        self.CAUSES, self.check = causes, check


def test_every_check_module_declares_its_causes_and_the_catalogue_has_all_27():
    modules = check_modules()
    assert modules and all(m.causes and callable(m.check) for m in modules)
    assert len(catalogue()) == 27 and {"no_signal", "validation_path", "lr_schedule"} <= (
        catalogue().keys())
    package = Path(checks.__file__).parent
    assert {m.name for m in modules} == {
        p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}


def test_explains_and_figures_name_only_known_things():
    known = catalogue()
    for cause in known.values():
        assert cause.explains <= known.keys(), cause.id
        assert set(cause.figures) <= FIGURES, cause.id


def test_a_misspelled_check_function_is_named_at_discovery():
    module = _Module("typo", (_cause(),))
    del module.check
    module.chek = lambda case: []
    with pytest.raises(CatalogueError, match=r"checks/typo.py must define check\(case\)"):
        _declared(module)


def test_a_check_with_the_wrong_signature_is_named_with_its_signature():
    module = _Module("two_args", (_cause(),), check=lambda case, other: [])
    with pytest.raises(CatalogueError, match=r"two_args.py.*check\(case, other\)"):
        _declared(module)


def test_a_module_without_causes_is_refused():
    with pytest.raises(CatalogueError, match="nothing.py must declare CAUSES"):
        _declared(_Module("nothing", ()))


def test_a_cause_declared_twice_is_refused_with_both_modules():
    first = _declared(_Module("first", (_cause("dup"),)))
    second = _declared(_Module("second", (_cause("dup"),)))
    with pytest.raises(CatalogueError, match="second.py declares 'dup'.*first.py"):
        _validate_catalogue((first, second))


def test_explains_must_name_a_known_cause():
    module = _declared(_Module("lonely", (_cause(explains={"no_such_cause"}),)))
    with pytest.raises(CatalogueError, match="lonely.py.*unknown cause ids \\['no_such_cause'\\]"):
        _validate_catalogue((module,))


def test_an_unknown_figure_is_refused():
    module = _declared(_Module("drawn", (_cause(figures=("pie_chart",)),)))
    with pytest.raises(CatalogueError, match="unknown figures \\['pie_chart'\\]"):
        _validate_catalogue((module,))
