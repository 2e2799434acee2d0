"""Where lossdoctor must stay out of the way: code that torch.compile is tracing, code inside a
torch.func transform (vmap, grad), and compiled models, which are watched from outside."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import torch
from torch import nn

#: Called on every module call and hook, so spelled out at those places as
#: ``dynamo_compiling() or compiler._is_compiling_flag``: torch.compiler.is_compiling() in one
#: Python call instead of two (it asks torch.jit.is_scripting() first, which lossdoctor's code
#: never is). Dynamo folds is_dynamo_compiling() to True, so compiled code never reads the
#: flag, which torch.export's non-strict tracing and a compile session set.
dynamo_compiling = getattr(torch.compiler, "is_dynamo_compiling", torch.compiler.is_compiling)
compiler = torch.compiler if hasattr(torch.compiler, "_is_compiling_flag") else (
    SimpleNamespace(_is_compiling_flag=False))  # an older torch: is_compiling() says it all
transforming = torch._C._functorch.peek_interpreter_stack


def tracing() -> bool:
    """Whether the code running now is being traced (torch.compile, torch.export) or
    transformed (vmap, grad): its tensors are not real values, and reading one (``.item()``)
    would fail or change the user's compiled graph."""
    return dynamo_compiling() or compiler._is_compiling_flag or transforming() is not None


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
