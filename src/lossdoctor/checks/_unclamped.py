"""A copy of the user's model with the ReLU after its output layer taken out, however it is
written: an ``nn.ReLU`` module, or ``torch.relu``, ``F.relu`` or ``x.clamp(min=0)`` in the
forward (or in a model written as plain tensors), which no module swap can reach.

Every one of them runs as a ReLU call through PyTorch's function dispatch (an nn.ReLU calls
F.relu). The output clamp is the last such call of a forward, with any other call on the same
tensor: the copy counts the calls of one forward, in training and in eval mode, and a
FunctionSwap (checks/_function_swap.py) passes those calls' input through unchanged (nothing
of the user's code is rewritten). Whether that un-clamped the output is read afterwards
(:func:`._clamped_output.ends_clamped_at_zero`): a clamp written ``z * (z > 0)`` is no ReLU
call, and taking out the last hidden ReLU instead leaves it.

A sigmoid at the output (given to a loss that applies its own: BCEWithLogitsLoss) is taken out
the same way: :func:`without_last` names the activation kind."""

from __future__ import annotations

import copy

import torch
from torch import nn

from lossdoctor.checks._function_swap import FunctionSwap
from lossdoctor.sandbox import isolated


def _passed_through(pre: torch.Tensor, in_place: bool) -> torch.Tensor:
    """The output activation taken out: its input passes through."""
    return pre


class _NumberedCalls:
    """A FunctionSwap's ``keep`` for the activation calls of one forward: numbers them in order
    (from 0), notes each one's input, and keeps every call but those numbered in ``skip``."""

    def __init__(self, skip: frozenset[int] = frozenset()) -> None:
        self.skip, self.inputs = skip, []

    def __call__(self, pre: torch.Tensor) -> bool:
        self.inputs.append(pre)
        return len(self.inputs) - 1 not in self.skip

    def clamp_calls(self) -> frozenset[int]:
        """The last call, and every other call on the very same tensor (a forward computing
        its own loss clamps its output twice: ``return torch.relu(out), loss(torch.relu(out),
        target)``)."""
        if not self.inputs:
            return frozenset()
        last = self.inputs[-1]
        return frozenset(i for i, pre in enumerate(self.inputs) if pre is last)


class WithoutLastActivation(nn.Module):
    """``inner``, whose output activation of ``kind`` (the calls ``skip`` numbers, in training
    and in eval mode) passes its input through."""

    def __init__(self, inner: nn.Module, skip: dict[bool, frozenset[int]],
                 kind: str = "relu") -> None:
        super().__init__()
        self.inner, self.skip, self.kind = inner, skip, kind

    def forward(self, *args, **kwargs):
        skip = self.skip.get(self.training, frozenset())
        with FunctionSwap({self.kind: _passed_through}, keep=_NumberedCalls(skip)):
            return self.inner(*args, **kwargs)


def without_last_relu(model: nn.Module, batch, predict) -> WithoutLastActivation | None:
    """A copy of ``model`` whose last ReLU call is taken out, counted on ``batch`` (through
    ``predict(model, batch)``, the replayer's, as the script called the model); None when a
    forward makes no ReLU call."""
    return without_last(model, batch, predict, "relu")


def without_last(model: nn.Module, batch, predict, kind: str) -> WithoutLastActivation | None:
    """A copy of ``model`` whose last call of the activation ``kind`` ("relu", "sigmoid",
    "tanh") is taken out, as :func:`without_last_relu`; None when a forward makes none."""
    skip = {mode: _output_calls(model, batch, predict, mode, kind) for mode in (True, False)}
    if not all(skip.values()):
        return None
    return WithoutLastActivation(copy.deepcopy(model), skip, kind)


def _output_calls(model: nn.Module, batch, predict, training: bool,
                  kind: str) -> frozenset[int]:
    """The output activation's calls in one forward (_NumberedCalls.clamp_calls), in training
    mode with gradients (as a replay trains) or in eval mode without (as it validates: some
    layers take a fused path there)."""
    counting = _NumberedCalls()
    with isolated(0), torch.set_grad_enabled(training):
        scoring = copy.deepcopy(model).train(training)
        with FunctionSwap({kind: _passed_through}, keep=counting):
            predict(scoring, batch)
    return counting.clamp_calls()
