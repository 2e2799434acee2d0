"""Deep copies of a model whose forward calls a function kept on it that closes over its own
modules: minGPT's ``m = self.mlp; self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))``.

``copy.deepcopy`` keeps a function as it is (``copy._deepcopy_atomic``), so the copy's function
still calls the user's modules: every replay trained through the user's MLP weights, filling
their gradients and none of the copy's (bench/projects6 minGPT: 56,016 of 86,160 parameters
never trained in any replay). While lossdoctor copies, a function whose closure holds a module
or a tensor is copied with those cells copied through the same memo, so the copy's function
calls the copy's modules (the memo makes a module reached twice one copy). Only lossdoctor's
own copies are made so: the user's code copies as it always does."""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

_DISPATCH = copy._deepcopy_dispatch  # noqa: SLF001 - the table deepcopy looks types up in


@contextmanager
def closures_follow_copies() -> Iterator[None]:
    """Within it, deep copies rebind functions' closures over modules and tensors."""
    before = _DISPATCH.get(types.FunctionType)
    _DISPATCH[types.FunctionType] = _copied_function
    try:
        yield
    finally:
        _DISPATCH[types.FunctionType] = before


def _copied_function(function: types.FunctionType, memo: dict) -> types.FunctionType:
    cells = function.__closure__
    if not cells or not any(_holds_model_state(cell) for cell in cells):
        return function
    closure = tuple(types.CellType(copy.deepcopy(cell.cell_contents, memo))
                    if _holds_model_state(cell) else cell for cell in cells)
    copied = types.FunctionType(function.__code__, function.__globals__, function.__name__,
                                function.__defaults__, closure)
    copied.__kwdefaults__ = function.__kwdefaults__
    copied.__qualname__ = function.__qualname__
    copied.__dict__.update(function.__dict__)
    return copied


def _holds_model_state(cell: types.CellType) -> bool:
    try:
        content = cell.cell_contents
    except ValueError:  # a cell not filled yet
        return False
    return isinstance(content, (nn.Module, torch.Tensor))
