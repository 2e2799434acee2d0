"""Where lossdoctor must stay out of the way: code that torch.compile is tracing, code inside a
torch.func transform (vmap, grad), and compiled models, which are watched from outside."""

from __future__ import annotations

import sys

import torch
from torch import nn


def tracing() -> bool:
    """Whether the code running now is being traced (torch.compile) or transformed (vmap,
    grad): its tensors are not real values, and reading one (``.item()``) would fail or change
    the user's compiled graph."""
    return torch.compiler.is_compiling() or torch._C._functorch.peek_interpreter_stack() is not None


def is_compiled(module: nn.Module) -> bool:
    """``torch.compile(module)`` (an OptimizedModule) or ``module.compile()``."""
    if getattr(module, "_compiled_call_impl", None) is not None:
        return True
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")
    return eval_frame is not None and isinstance(module, eval_frame.OptimizedModule)


def plain_module(module: nn.Module) -> nn.Module:
    """The module a compiled wrapper stands for (what to name, describe and copy)."""
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")
    if eval_frame is not None and isinstance(module, eval_frame.OptimizedModule):
        return module._orig_mod
    return module
