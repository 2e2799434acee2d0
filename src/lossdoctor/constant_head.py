"""The constant guess of a model that computes its loss itself (``return logits, loss`` or
``return loss``), which no separate constant model can stand in for: the user's own model with
its output layer's weights zeroed and only that layer's bias fitted. The output layer then gives
the bias for every row, whatever the layers before it compute, so the model predicts the same
for every row, and its own loss scores that prediction: the best input-free prediction, in the
loss the run printed (for a cross-entropy the label frequencies, for a squared error the mean).

The output layer is the last layer with parameters that the loss's forward pass calls, and it
must be a linear or convolution layer with a bias; the layers called just before it on the same
input tensor are output layers too (a detector's heads, a heatmap and a size beside each other
on the same features), each zeroed with its bias fitted. Parameters that may act after it (kept
on the model itself, as a CRF's transition scores, or in a module used through its methods) are
fitted with the bias: they are part of an input-free prediction. A forward that brings the
inputs back after it (a skip connection around the head) gives no constant: the fitted model is
checked to score a batch the same when its inputs are shuffled across rows.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import replace

import torch
from torch import nn

from lossdoctor.capture.sample import Batch
from lossdoctor.capture.tensors import tensors_in
from lossdoctor.constant_guess import fit_to_validation_loss
from lossdoctor.layers import called_in_order, own_parameters
from lossdoctor.sandbox import isolated

#: Layers whose weights-times-input plus bias makes an output layer a constant once zeroed.
OUTPUT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
#: Training batches the bias is fitted on, and the L-BFGS iterations it gets: a bias of a few
#: numbers under a convex loss of a constant converges in a few iterations, and each one runs
#: the whole model forward, so fewer batches than constant_guess.FIT_BATCHES.
FIT_BATCHES = 8
FIT_ITERATIONS = 20
#: The loss of a model that ignores its inputs does not change when they are shuffled, but for
#: float32 rounding of a mean over a batch (2**-23 is 1.2e-7, summed over up to a few thousand
#: terms).
SAME_LOSS = 1e-5


def constant_head(replayer) -> nn.Module | None:
    """The user's initial model with its output layer zeroed and its bias fitted on the
    training batches with the model's own loss, or None when it gives no constant."""
    batches = replayer.train_batches[:FIT_BATCHES]
    initial = replayer.copies.initial_model
    if not batches or initial is None:
        return None
    model = replayer.placed(copy.deepcopy(initial))
    called = _called_layers(replayer, model, batches[0])
    heads = _heads(replayer, model, batches[0])
    batch = next((b for b in batches if _rolled_inputs_differ(b)), None)
    if not heads or not all(_is_output_layer(h) for h in heads) or batch is None:
        return None  # no output layer, or no batch whose shuffled inputs differ to check it
    with isolated(0):
        _fit_bias(replayer, model, heads, _acting_after(model, called, heads), batches)
        return model if _ignores_inputs(replayer, model, batch) else None


def _is_output_layer(module: nn.Module) -> bool:
    return isinstance(module, OUTPUT_LAYERS) and module.bias is not None


def _called_layers(replayer, model: nn.Module, batch: Batch) -> list[nn.Module]:
    """The modules with parameters of their own, in the order the loss's forward pass first
    calls them."""
    return [m for _, m in called_in_order(model, lambda: replayer.scored_loss(model, batch))]


def _heads(replayer, model: nn.Module, batch: Batch) -> list[nn.Module]:
    """The last layer with parameters the loss's forward pass calls, and the layers called
    right before it on the very same input tensor (kept alive, so compared by identity)."""
    calls: list[tuple[nn.Module, object]] = []
    hooks = [m.register_forward_pre_hook(lambda m, args: calls.append((m, args[:1])))
             for m in model.modules() if own_parameters(m)]
    try:
        with torch.no_grad(), isolated(0):
            replayer.scored_loss(model, batch)
    finally:
        for hook in hooks:
            hook.remove()
    if not calls:
        return []
    last = calls[-1]
    shared = itertools.takewhile(lambda call: call is last or _same_input(call[1], last[1]),
                                 reversed(calls))
    return list(dict.fromkeys(m for m, _ in shared))


def _same_input(args: tuple, other: tuple) -> bool:
    return bool(args) and bool(other) and args[0] is other[0]


def _acting_after(model: nn.Module, called: list[nn.Module],
                  heads: list[nn.Module]) -> list[nn.Parameter]:
    """Parameters that may act on the output layer's result: those a module holds beside its
    submodules (a CRF's transition scores kept on the model itself; the model's forward spans
    its layers' calls), and those of modules the forward never called as layers (their
    methods used directly). A layer called before the output layer is cut off by its zeroed
    weights; these are not, and a constant guess that left them random would score far worse
    than the best constant (a BiLSTM-CRF: 13.8 against its run's 0.2-0.7)."""
    upstream = {id(m) for m in called if m not in heads and not _has_layers(m)}
    return [p for m in model.modules() if all(m is not h for h in heads) and own_parameters(m)
            and id(m) not in upstream for p in m.parameters(recurse=False)]



def _has_layers(module: nn.Module) -> bool:
    return any(own_parameters(m) for m in module.modules() if m is not module)


def _fit_bias(replayer, model: nn.Module, heads: list[nn.Module],
              after: list[nn.Parameter], batches: list[Batch]) -> None:
    model.eval()  # dropout off: the bias is fitted to the loss the validation computes
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        for head in heads:
            head.weight.zero_()
    fitted = [*(head.bias for head in heads), *after]
    for parameter in fitted:
        parameter.requires_grad_(True)
    fit_to_validation_loss(replayer, model, fitted, batches, FIT_ITERATIONS)
    for parameter in fitted:
        parameter.requires_grad_(False)


def _ignores_inputs(replayer, model: nn.Module, batch: Batch) -> bool:
    """The model's loss on ``batch`` is the same with its inputs shuffled across rows (the
    targets kept in place): nothing of the inputs reaches the prediction."""
    model.eval()
    with torch.no_grad(), isolated(0):
        loss = float(replayer.scored_loss(model, batch).detach())
        shuffled = float(replayer.scored_loss(model, rows_rolled(batch)).detach())
    return math.isfinite(loss) and abs(shuffled - loss) <= SAME_LOSS * max(abs(loss), 1.0)


def _rolled_inputs_differ(batch: Batch) -> bool:
    """Whether shuffling moves anything: some input tensor differs from its rows rolled."""
    return any(t.dim() and t.shape[0] == batch.rows and not torch.equal(t, t.roll(1, dims=0))
               for t in tensors_in((batch.args, batch.kwargs)))


def rows_rolled(batch: Batch) -> Batch:
    """``batch`` with each input tensor of a row per example moved one row on (the last row
    first); the target stays."""
    def rolled(value):
        if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == batch.rows:
            return value.roll(1, dims=0)
        if isinstance(value, dict):
            return {key: rolled(inner) for key, inner in value.items()}
        return value

    return replace(batch, args=tuple(rolled(a) for a in batch.args),
                   kwargs={key: rolled(value) for key, value in batch.kwargs.items()})
