"""The best prediction that ignores the inputs: the loss any model that learned must beat.

One entry point, :func:`constant_guess_loss`, for the live status line and the diagnosis alike,
so both call the same level "chance":

- In closed form where the loss has one and is used plainly (mean reduction, no class weights,
  no label smoothing): the label entropy for cross-entropy and NLL, the binary entropy for BCE,
  the variance for MSE, the mean absolute deviation from the median for L1. Exact, and cheap
  enough to recompute on every validation pass of a live run.
- Otherwise fitted: one learned prediction for every row, trained by L-BFGS through the user's
  own loss on the training batches (``fit``). That takes a copy of the loss and a second or so,
  which the diagnosis has and the live line does not: live, such a loss has no chance level.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from lossdoctor.capture.tensors import batch_rows, first_tensor
from lossdoctor.losses import CLASSIFICATION, loss_kind, output_layers
from lossdoctor.sandbox import isolated

#: Training batches the constant is fitted on, and the L-BFGS iterations it gets.
FIT_BATCHES = 32
FIT_ITERATIONS = 50
#: Loss settings that change what the best constant costs, so the closed forms do not hold.
SCALE_CHANGING = ("weight", "pos_weight", "label_smoothing")
#: PyTorch's default ignore_index for cross-entropy and NLL: targets the loss skips.
IGNORE_INDEX = -100


def constant_guess_loss(loss_name: str, loss_kwargs: dict, train_targets, scored_targets,
                        fit: Callable[[], float] | None = None) -> float | None:
    """The loss on ``scored_targets`` of the best constant prediction for ``train_targets``
    (numpy arrays, one row per example): in closed form when the loss has one, else from
    ``fit`` when given; None when neither gives a finite loss."""
    with np.errstate(all="ignore"):  # live too: infinite or NaN targets give no chance level
        loss = closed_form(loss_name, loss_kwargs, train_targets, scored_targets)
    if loss is None and fit is not None:
        loss = fit()
    return loss if loss is not None and math.isfinite(loss) else None


def closed_form(loss_name: str, loss_kwargs: dict, train_targets, scored_targets) -> float | None:
    """The constant guess's loss for the plainly used losses that have a formula, else None."""
    kind = loss_kind(loss_name)
    if kind is None or train_targets is None or scored_targets is None:
        return None
    if loss_kwargs.get("reduction", "mean") != "mean":
        return None
    if any(loss_kwargs.get(setting) for setting in SCALE_CHANGING):
        return None
    train, scored = np.asarray(train_targets), np.asarray(scored_targets)
    if kind.task == CLASSIFICATION and not kind.binary:
        return _label_entropy(train, scored, loss_kwargs.get("ignore_index", IGNORE_INDEX))
    if kind.binary:
        return _binary_entropy(train, scored)
    if kind.squared:
        return float(np.mean((scored - train.mean(axis=0)) ** 2))
    if loss_name in ("L1Loss", "l1_loss"):
        return float(np.mean(np.abs(scored - np.median(train, axis=0))))
    return None


def recorded_units_guess(loss_name: str, loss_kwargs: dict, train_targets,
                         scored_targets) -> float | None:
    """The constant guess in the units lossdoctor records a loss call in: as
    ``reduction="mean"`` would have reported it (capture.per_row.per_element_mean), whatever
    reduction the run itself asked for. A loss summed over the tokens and divided by their count
    (the Hugging Face language models' ``reduction="sum"`` over ``num_items_in_batch``) has no
    closed form in the run's own units, but its recorded curves are per-token means, and the
    label entropy is the guess in those."""
    settings = {**loss_kwargs, "reduction": "mean"}
    with np.errstate(all="ignore"):
        loss = closed_form(loss_name, settings, train_targets, scored_targets)
    return loss if loss is not None and math.isfinite(loss) else None


def loss_floor(loss_name: str, loss_kwargs: dict, scored_targets) -> float | None:
    """The least the loss can reach on ``scored_targets`` (a numpy array), for the plainly used
    losses that have a formula: a perfect prediction of soft targets still pays their own
    entropy. Binary cross-entropy on targets in [0, 1]: their mean binary entropy (0 for hard
    0/1 targets; 0.5 for targets uniform in 0-1); cross-entropy on rows of class probabilities:
    their mean entropy per row. None when not known (class indices and the other losses: 0 is
    their floor, which symptom.below_floor reads)."""
    kind = loss_kind(loss_name)
    if kind is None or scored_targets is None or loss_kwargs.get("reduction", "mean") != "mean":
        return None
    if any(loss_kwargs.get(setting) for setting in SCALE_CHANGING):
        return None
    targets = np.asarray(scored_targets)
    if targets.dtype.kind != "f" or not targets.size or not np.isfinite(targets).all():
        return None
    if targets.min() < 0 or targets.max() > 1:
        return None
    with np.errstate(all="ignore"):
        if kind.binary:
            return float(np.mean(_entropy(targets) + _entropy(1 - targets)))
        if kind.task == CLASSIFICATION and targets.ndim == 2 and np.allclose(targets.sum(1), 1):
            return float(np.mean(_entropy(targets).sum(1)))
    return None


def _entropy(p: np.ndarray) -> np.ndarray:
    """-p log p elementwise, 0 where p is 0."""
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)


def _label_entropy(train, scored, ignore_index: int) -> float | None:
    """Class indices of any shape (a class per row, per token of a sequence, per pixel): the
    guess is one class distribution for every position; positions the loss ignores are left
    out."""
    if train.dtype.kind not in "iu" or scored.dtype.kind not in "iu":
        return None
    train, scored = train.reshape(-1), scored.reshape(-1)
    train, scored = train[train != ignore_index], scored[scored != ignore_index]
    if not train.size or not scored.size or train.min() < 0 or scored.min() < 0:
        return None
    classes = int(max(train.max(), scored.max())) + 1
    counts = np.bincount(train, minlength=classes) + 0.5  # half a count: no class is impossible
    return float(-np.mean(np.log(counts / counts.sum())[scored]))


def _binary_entropy(train, scored) -> float | None:
    train, scored = train.astype(float), scored.astype(float)
    if train.min() < 0 or train.max() > 1:
        return None
    p = np.clip(train.mean(axis=0), 1e-7, 1 - 1e-7)
    return float(-np.mean(scored * np.log(p) + (1 - scored) * np.log(1 - p)))


def targets_of(batches) -> np.ndarray | None:
    """The batches' targets as one array, or None when they cannot be joined."""
    tensors = [_scored(b, first_tensor(b.target)) for b in batches]
    tensors = [t for t in tensors if t is not None]
    if tensors and len({t.shape[1:] for t in tensors}) != 1 and _class_indices(tensors):
        tensors = [t.reshape(-1) for t in tensors]  # targets per position, batches of lengths
    if not tensors or len({t.shape[1:] for t in tensors}) != 1:
        return None
    return torch.cat(tensors).detach().cpu().numpy()


def _scored(batch, target):
    """The targets of the rows the loss scored (a graph's training nodes), else all."""
    selection = getattr(batch, "selection", None)
    return target if target is None or selection is None else target[selection]


def _class_indices(tensors) -> bool:
    """Integer targets: class indices, whose constant guess (their frequencies) does not
    depend on how they are laid out in rows (a sequence model's, batches of several lengths)."""
    return all(not t.is_floating_point() for t in tensors)


def loss_settings(loss_fn, recorded: dict) -> dict:
    """The recorded settings of the user's loss, plus whether it carries class weights (tensors,
    which a recorded setting does not keep)."""
    settings = dict(recorded)
    held = getattr(loss_fn, "keywords", None) or {}  # a functional loss, with its arguments
    for name in ("weight", "pos_weight"):
        if getattr(loss_fn, name, None) is not None or held.get(name) is not None:
            settings[name] = True
    return settings


# --- fitted, for the losses without a closed form --------------------------------------------


class ConstantModel(nn.Module):
    """One learned prediction for every row, whatever the inputs, in the form the loss expects
    (through a sigmoid for BCELoss, a log-softmax for NLLLoss)."""

    def __init__(self, prediction_shape: tuple, loss_name: str) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.zeros(math.prod(prediction_shape) or 1))
        self.output = nn.Sequential(*output_layers(loss_name))
        self.scalar_rows = prediction_shape == ()  # a model that gives one number per row

    def forward(self, *args, **kwargs) -> torch.Tensor:
        prediction = self.output(self.value.expand(batch_rows((args, kwargs)), -1))
        return prediction.squeeze(1) if self.scalar_rows else prediction


def fit_to_validation_loss(replayer, model: nn.Module, parameters: list, batches,
                           iterations: int = FIT_ITERATIONS) -> None:
    """Fit ``parameters`` of ``model`` by L-BFGS (``iterations`` at most) to its row-weighted
    mean loss on ``batches``,
    the loss a validation computes (a penalty on the user's weights added to the training
    loss by hand has nothing to do with a constant, and reads weights a constant lacks)."""
    optimizer = torch.optim.LBFGS(parameters, max_iter=iterations, line_search_fn="strong_wolfe")
    rows = max(sum(b.rows for b in batches), 1)

    def mean_loss() -> torch.Tensor:
        optimizer.zero_grad()
        loss = sum(replayer.scored_loss(model, b) * b.rows for b in batches) / rows
        loss.backward()
        return loss

    optimizer.step(mean_loss)


def fit_constant(replayer, loss_name: str) -> ConstantModel:
    """The constant fitted on the training batches with the user's loss, less a penalty added
    to it by hand (a replay.Replayer)."""
    constant = ConstantModel(replayer.copies.prediction_shape, loss_name)
    with isolated(0):
        fit_to_validation_loss(replayer, constant, list(constant.parameters()),
                               replayer.train_batches[:FIT_BATCHES])
    return constant
