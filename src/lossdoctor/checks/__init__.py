"""Checks: one module per cause family, discovered automatically.

A check module declares the causes it reports (``CAUSES``, a tuple of
:class:`lossdoctor.findings.Cause`) next to ``check(case) -> list[Finding]``, which returns findings
about those causes only. A check that lacks what it needs raises :class:`lossdoctor.findings.Skip`
with a reason a user can act on. Adding a cause is adding a module here (see
docs/adding-a-cause.md); discovery validates every module at import and names the one at fault.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from lossdoctor.findings import FIGURES, Cause


class CatalogueError(Exception):
    """A check module that declares its causes wrongly; the message names the module."""


@dataclass(frozen=True)
class CheckModule:
    name: str
    check: Callable
    causes: tuple[Cause, ...]


@cache
def check_modules() -> tuple[CheckModule, ...]:
    """Every check module of this package, in name order, validated together."""
    modules = tuple(_declared(module) for module in _modules())
    _validate_catalogue(modules)
    return modules


def catalogue() -> dict[str, Cause]:
    """Every declared cause by its stable id, in the order of their modules."""
    return {cause.id: cause for module in check_modules() for cause in module.causes}


def _modules() -> list[ModuleType]:
    names = sorted(info.name for info in pkgutil.iter_modules(__path__))
    return [importlib.import_module(f"{__name__}.{name}") for name in names
            if not name.startswith("_")]


def _declared(module: ModuleType) -> CheckModule:
    name = module.__name__.rsplit(".", 1)[-1]
    causes = getattr(module, "CAUSES", None)
    if not isinstance(causes, tuple) or not causes or not all(
            isinstance(c, Cause) for c in causes):
        raise CatalogueError(f"checks/{name}.py must declare CAUSES, a non-empty tuple of Cause")
    check = getattr(module, "check", None)
    if not callable(check) or not _takes_one_case(check):
        raise CatalogueError(f"checks/{name}.py must define check(case) -> list[Finding]; "
                             f"found {_signature(check)}")
    return CheckModule(name, check, causes)


def _takes_one_case(check: Callable) -> bool:
    try:
        inspect.signature(check).bind(None)
    except (TypeError, ValueError):
        return False
    return True


def _signature(check) -> str:
    if not callable(check):
        return "no function named check"
    try:
        return f"check{inspect.signature(check)}"
    except (TypeError, ValueError):
        return repr(check)


def _validate_catalogue(modules: tuple[CheckModule, ...]) -> None:
    owner: dict[str, str] = {}
    for module in modules:
        for cause in module.causes:
            if cause.id in owner:
                raise CatalogueError(f"checks/{module.name}.py declares {cause.id!r}, which "
                                     f"checks/{owner[cause.id]}.py declares too")
            owner[cause.id] = module.name
    for module in modules:
        for cause in module.causes:
            _validate_cause(module.name, cause, owner)


def _validate_cause(module: str, cause: Cause, known: dict[str, str]) -> None:
    where = f"checks/{module}.py, cause {cause.id!r}"
    if not cause.id.isidentifier() or cause.id != cause.id.lower():
        raise CatalogueError(f"{where}: an id is lower_snake_case")
    if not all((cause.title, cause.fix, cause.question, cause.test)):
        raise CatalogueError(f"{where}: title, fix, question and test must all be given")
    if unknown := sorted((cause.explains | cause.explains_if_fixed) - known.keys()):
        raise CatalogueError(f"{where}: explains unknown cause ids {unknown}")
    if cause.id in cause.explains | cause.explains_if_fixed:
        raise CatalogueError(f"{where}: a cause cannot explain itself")
    if unknown := sorted(set(cause.figures) - FIGURES):
        raise CatalogueError(f"{where}: unknown figures {unknown}; known: {sorted(FIGURES)}")
