"""A training loss that adds torch.nn loss calls and a term written by hand
(``sum(losses.values())`` over three ``F.binary_cross_entropy`` calls and a masked squared error
computed in Python): the calls' values do not add up to it, but its autograd graph shows it as
their sum plus the rest.

The graph is walked from the tensor backward started from through its additions only
(``a + b``, ``sum([...])``, ``torch.stack([...]).sum()``): each loss call must be reached as a
whole addend (not scaled, as ``0.5 * bce`` would be), and what else is added is the hand-written
remainder. Nothing of the graph is kept.
"""

from __future__ import annotations

import math

import torch

#: The name of the remainder among the run's loss terms (Setup.loss_terms).
HAND_WRITTEN_TERM = "hand-written term"
#: Autograd nodes that add their inputs up, or pass one on with its value (a view, a cast
#: under autocast): the walk goes through these only.
ADDING_NODES = frozenset({"AddBackward0", "AddBackward1", "SumBackward0", "StackBackward0",
                          "CatBackward0", "UnsqueezeBackward0", "ViewBackward0",
                          "ToCopyBackward0"})
#: Nodes visited at most: a sum of a few dozen terms is reached in far fewer; a walk that goes
#: on is not a sum of terms.
MAX_NODES = 256


def hand_written_remainder(root: torch.Tensor, nodes: list, values: list[float]) -> float | None:
    """The part of ``root`` that is not the loss calls whose autograd ``nodes`` (of ``values``)
    it adds, when ``root`` adds each call up whole beside other addends computed outside
    torch.nn losses; None otherwise (a call scaled or missing, no other addend, or a graph that
    is not a sum)."""
    if root.numel() != 1 or root.grad_fn is None or any(node is None for node in nodes):
        return None
    addends = _addends(root.grad_fn)
    if addends is None:
        return None
    targets = {id(node) for node in nodes}
    others = [node for node in addends if id(node) not in targets]
    if not others or not targets <= {id(node) for node in addends}:
        return None
    remainder = float(root.detach().float()) - sum(values)
    return remainder if math.isfinite(remainder) else None


def _addends(root) -> list | None:
    """The nodes ``root`` adds up (those reached through ADDING_NODES only), or None when the
    walk runs past MAX_NODES."""
    addends, stack, seen = [], [root], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return None
        if type(node).__name__ not in ADDING_NODES:
            addends.append(node)
            continue
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return addends
