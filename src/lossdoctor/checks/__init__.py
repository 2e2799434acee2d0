"""Checks: one module per cause family, each exposing ``check(case) -> list[Finding]``.

A check that lacks what it needs raises :class:`lossdoctor.findings.Skip` with a reason
a user can act on.
Adding a check is adding a module here; it is found by :func:`discover_checks`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable


def discover_checks() -> dict[str, Callable]:
    """Every ``check`` function in this package's modules, by module name, in name order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "check", None)):
            found[info.name] = module.check
    return found
