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
    """The module a compiled or DistributedDataParallel wrapper stands for (what to name,
    describe and copy): a copy of DDP, or a call through it, would talk to the other ranks."""
    eval_frame = sys.modules.get("torch._dynamo.eval_frame")
    while True:
        if eval_frame is not None and isinstance(module, eval_frame.OptimizedModule):
            module = module._orig_mod
        elif _is_distributed_wrapper(module):
            module = module.module
        else:
            return module


def _is_distributed_wrapper(module: nn.Module) -> bool:
    parallel = sys.modules.get("torch.nn.parallel.distributed")
    return parallel is not None and isinstance(module, parallel.DistributedDataParallel)
