"""A model call given what an earlier call of the same training step computed.

A script that loops over time steps itself (``output, hidden = rnn(line[i], hidden)``, the
PyTorch char-RNN tutorial's loop) calls the model once per letter, and each call after the
first is given the hidden state the previous one returned, still attached to the graph that
backward will train through. Replays on copies train on one captured call per step, with its
inputs held fixed: the loop, and the gradient through it, cannot be replayed from such a call.
An input is fed back when its autograd graph reaches the model's own parameters (an input
computed by another module, or by data preparation without gradients, is not)."""

from __future__ import annotations

import torch
from torch import nn

#: Autograd nodes visited per input before giving up: the parameters of an unrolled loop's last
#: call are a few nodes up its graph; a graph this large without them is another module's.
MAX_NODES = 512

FED_BACK = (
    "your training loop calls the model several times per step and gives each call what an "
    "earlier call returned (a hidden state carried through a loop over time steps): lossdoctor "
    "replays a step as one model call, so it cannot train copies of your run")


def fed_back(inputs: list[torch.Tensor], model: nn.Module | None) -> bool:
    """Whether one of ``inputs`` was computed from ``model``'s parameters with gradients."""
    roots = [t.grad_fn for t in inputs if t.grad_fn is not None]
    if not roots or model is None:
        return False
    parameters = {id(p) for p in model.parameters()}
    return reaches(roots, parameters)


def reaches(roots: list, parameters: set[int]) -> bool:
    """Whether the autograd graph below ``roots`` reaches one of ``parameters`` (ids), within
    MAX_NODES nodes."""
    seen, stack = set(), list(roots)
    while stack and len(seen) < MAX_NODES:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None and id(variable) in parameters:
            return True
        stack.extend(child for child, _ in node.next_functions)
    return False
