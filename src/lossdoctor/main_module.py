"""Run a script, a directory with ``__main__.py`` or ``-m package.module`` the way the python
command does: a fresh ``__main__`` module like the interpreter's own (``__builtins__`` the
module, ``__annotations__``, ``__loader__``, ``__spec__``), the same ``sys.argv`` and
``sys.path[0]``, and runpy for directories and modules, as python itself uses it."""

from __future__ import annotations

import builtins
import io
import os
import runpy
import sys
import tokenize
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.machinery import SourceFileLoader


@dataclass(frozen=True)
class Target:
    """What to run: ``kind`` is "path" (a .py file, or a directory with ``__main__.py``) or
    "module" (``-m name``); ``name`` is the path or the module's name, as the user gave it."""

    name: str
    kind: str = "path"

    @property
    def label(self) -> str:
        return f"-m {self.name}" if self.kind == "module" else self.name

    @property
    def is_directory(self) -> bool:
        return self.kind == "path" and os.path.isdir(self.name)


def missing(target: Target) -> bool:
    return target.kind == "path" and not os.path.exists(target.name)


@contextmanager
def script_world(target: Target, args: list[str], filters: list | None) -> Iterator[dict]:
    """Inside the block, ``sys.argv``, ``sys.path[0]``, ``sys.modules["__main__"]`` and the
    warning filters are as python sets them for ``target``; all are restored afterwards. Yields
    the namespace the target runs in."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    saved_main = sys.modules.get("__main__")
    saved_filters = list(warnings.filters)
    module = _fresh_main()
    sys.modules["__main__"] = module
    sys.argv = [target.name if target.kind == "path" else "-m", *args]
    sys.path[0] = _path_entry(target)
    if filters is not None:
        _set_filters(filters)
    try:
        yield module.__dict__
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        _set_filters(saved_filters)


def execute(target: Target, namespace: dict) -> None:
    """Run ``target`` in ``namespace`` (from script_world). Raises what the target raises; a
    file that does not compile raises its SyntaxError (from no frame of the target)."""
    if target.kind == "module":
        runpy._run_module_as_main(target.name, alter_argv=True)
    elif target.is_directory:
        runpy._run_module_as_main("__main__", alter_argv=False)
    else:
        code = _compile(target.name, namespace)
        exec(code, namespace)


def _fresh_main() -> types.ModuleType:
    """The ``__main__`` module as the interpreter makes it before running anything."""
    module = types.ModuleType("__main__")
    module.__dict__.update(__annotations__={}, __builtins__=builtins,
                           __loader__=sys.modules["builtins"].__loader__)
    return module


def _path_entry(target: Target) -> str:
    """python's ``sys.path[0]``: the working directory for ``-m``, the directory itself, or
    the script's directory with symbolic links resolved."""
    if target.kind == "module":
        return os.getcwd()
    if target.is_directory:
        return os.path.abspath(target.name)
    return os.path.dirname(os.path.realpath(target.name))


def _compile(path: str, namespace: dict):
    """As python compiles a script: from its bytes (so its coding line is honoured), named by
    its absolute path, with none of lossdoctor's own ``from __future__`` flags."""
    filename = os.path.abspath(path)
    namespace.update(__file__=filename, __cached__=None,
                     __loader__=SourceFileLoader("__main__", filename))
    with open(filename, "rb") as file:
        source = file.read()
    _refuse_like_python(source, filename)
    return compile(source, filename, "exec", dont_inherit=True)


def _refuse_like_python(source: bytes, filename: str) -> None:
    """python's own words for a file that is not Python text (a binary file given by mistake),
    where compile() would word it otherwise: the first problem python's reader meets, line by
    line, is reported (undecodable bytes, or a null byte)."""
    undecodable = _first_undecodable(source)
    null = source.find(b"\0")
    if undecodable is not None and (null < 0 or _line(source, undecodable) <= _line(source, null)):
        raise SyntaxError(f"Non-UTF-8 code starting with '\\x{source[undecodable]:02x}' in file "
                          f"{filename} on line {_line(source, undecodable)}, but no encoding "
                          "declared; see https://peps.python.org/pep-0263/ for details")
    if null >= 0:
        line_start = source.rfind(b"\n", 0, null) + 1
        text = source[line_start:null].decode("utf-8", "replace")
        raise SyntaxError("source code cannot contain null bytes",
                          (filename, _line(source, null), None, text or None))


def _first_undecodable(source: bytes) -> int | None:
    """Where a file without an encoding declaration stops being UTF-8, or None."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:  # a first line that is not text at all
        encoding = "utf-8"
    if encoding not in ("utf-8", "utf-8-sig"):
        return None
    try:
        source.decode(encoding)
    except UnicodeDecodeError as error:
        return error.start
    return None


def _line(source: bytes, position: int) -> int:
    return source[:position].count(b"\n") + 1


def _set_filters(filters: list) -> None:
    warnings.filters[:] = filters
    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()
