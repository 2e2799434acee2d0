"""Multi-label 0/1 targets: several yes/no labels per row, one BCE output per label (a tagger,
fast-bert's BertForMultiLabelSequenceClassification: bench/fresh28 s06). Each label is its own
binary question, so its imbalance is its own positive rate; a label positive in a few rows
teaches the model to say "no" to it, and the loss then sits near each label's constant guess
while nothing is ever predicted. BCEWithLogitsLoss documents the fix: ``pos_weight`` = the
label's negatives / positives, which weighs its positives as much as its negatives.

    rates = label_rates(train_batches)          # None unless the targets are multi-label 0/1
    scores = label_scores(replayer, model, kind, rates, batches)
    scores.recall(rates.rare), scores.macro_f1(rates.rare), scores.loss
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lossdoctor.losses import LossKind

#: A label is rare when it is positive in at most this share of the training rows: the
#: single-label rule's minority (class_imbalance.MAJORITY_SHARE = 0.7: a class holding 70% of
#: the rows is a majority), applied to each label's yes/no question.
RARE_LABEL_SHARE = 0.3
#: A label is predicted "yes" at this probability (a logit of 0), as BCE's own decision and
#: fast-bert's accuracy_thresh read it.
YES = 0.5
#: Smallest probability a prediction is given when scoring log loss (as if clipped).
EPSILON = 1e-7


@dataclass
class LabelRates:
    """Each label's positives among the training rows."""

    positives: np.ndarray
    rows: int

    @property
    def rates(self) -> np.ndarray:
        return self.positives / max(self.rows, 1)

    @property
    def rare(self) -> np.ndarray:
        """A mask of the labels positive in at most RARE_LABEL_SHARE of the rows."""
        return self.rates <= RARE_LABEL_SHARE

    @property
    def pos_weight(self) -> torch.Tensor:
        """negatives / positives per label (a label never positive counts one positive)."""
        return torch.tensor((self.rows - self.positives) / np.maximum(self.positives, 1),
                            dtype=torch.float32)


def label_matrix(batches) -> np.ndarray | None:
    """The batches' targets as a (rows, labels) 0/1 matrix: each a 2-D tensor of at least two
    columns holding only 0 and 1, some row not summing to one (a one-hot row is one class
    label); None otherwise."""
    targets = [b.target for b in batches]
    if not targets or not all(_zero_one_columns(t, b.rows) for t, b in zip(targets, batches,
                                                                           strict=True)):
        return None
    if len({t.shape[1] for t in targets}) > 1:
        return None
    labels = torch.cat([t.detach().double() for t in targets]).numpy()
    return None if np.all(labels.sum(axis=1) == 1) else labels


def _zero_one_columns(target, rows: int) -> bool:
    if not isinstance(target, torch.Tensor) or target.dim() != 2 or target.shape[1] < 2:
        return False
    if target.shape[0] != rows or not target.numel():
        return False
    return bool(((target == 0) | (target == 1)).all())


def label_rates(batches) -> LabelRates | None:
    labels = label_matrix(batches)
    if labels is None:
        return None
    return LabelRates(labels.sum(axis=0), len(labels))


@dataclass
class LabelScores:
    """One model's scores on some rows, per label."""

    hits: np.ndarray  # positives predicted "yes"
    positives: np.ndarray
    predicted: np.ndarray  # rows predicted "yes"
    losses: np.ndarray  # mean binary cross-entropy of each label
    constant_losses: np.ndarray  # ... of each label's training rate
    balanced_losses: np.ndarray  # ... its positives' and its negatives' means, averaged

    @property
    def loss(self) -> float:
        return float(self.losses.mean())

    @property
    def constant_loss(self) -> float:
        return float(self.constant_losses.mean())

    def recall(self, labels: np.ndarray) -> tuple[int, int]:
        """Positives predicted "yes", and positives, pooled over the ``labels`` mask."""
        return int(self.hits[labels].sum()), int(self.positives[labels].sum())

    def macro_f1(self, labels: np.ndarray) -> float:
        """The mean F1 of the ``labels`` with a positive among the rows (nan if none has)."""
        chosen = labels & (self.positives > 0)
        if not chosen.any():
            return math.nan
        hits = self.hits[chosen]
        f1 = 2 * hits / np.maximum(self.positives[chosen] + self.predicted[chosen], 1)
        return float(f1.mean())

    def at_constant_share(self, labels: np.ndarray) -> float:
        """The share of the ``labels`` whose loss is no lower than their constant guess's."""
        if not labels.any():
            return math.nan
        return float((self.losses[labels] >= self.constant_losses[labels]).mean())

    def balanced_loss(self, labels: np.ndarray) -> float:
        chosen = labels & (self.positives > 0)
        return float(self.balanced_losses[chosen].mean()) if chosen.any() else math.nan


@torch.no_grad()
def label_scores(replayer, model, kind: LossKind, rates: LabelRates, batches) -> LabelScores:
    """Scores of ``model`` (in eval mode) on ``batches``' rows, with the training ``rates``
    as each label's constant guess."""
    model.eval()
    probabilities, targets = [], []
    for batch in batches:
        output = replayer.predict(model, batch).reshape(batch.rows, -1).double().cpu()
        probabilities.append(_probabilities(output, kind))
        targets.append(batch.target.detach().double().cpu())
    p, y = torch.cat(probabilities).numpy(), torch.cat(targets).numpy()
    yes = p >= YES
    constant = np.clip(rates.rates, EPSILON, 1 - EPSILON)
    return LabelScores(
        hits=(yes & (y == 1)).sum(axis=0), positives=(y == 1).sum(axis=0),
        predicted=yes.sum(axis=0), losses=_log_loss(p, y).mean(axis=0),
        constant_losses=_log_loss(np.broadcast_to(constant, y.shape), y).mean(axis=0),
        balanced_losses=_balanced(_log_loss(p, y), y))


def _probabilities(output: torch.Tensor, kind: LossKind) -> torch.Tensor:
    if kind.output == "probabilities":
        return output.clamp(EPSILON, 1 - EPSILON)
    return torch.sigmoid(output)


def _log_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _balanced(losses: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each label's mean loss on its positives and on its negatives, averaged (the mean of
    those present)."""
    positive, negative = y == 1, y == 0
    on_positive = (losses * positive).sum(axis=0) / np.maximum(positive.sum(axis=0), 1)
    on_negative = (losses * negative).sum(axis=0) / np.maximum(negative.sum(axis=0), 1)
    both = (positive.any(axis=0)).astype(float) + (negative.any(axis=0)).astype(float)
    return (on_positive + on_negative) / np.maximum(both, 1)


@dataclass
class PosWeightedLoss:
    """Binary cross-entropy with each label's positives weighted by ``pos_weight``, as
    BCEWithLogitsLoss(pos_weight=...) computes it (on probabilities for BCELoss)."""

    replayer: object
    pos_weight: torch.Tensor
    kind: LossKind

    def loss(self, model, batch) -> torch.Tensor:
        output = self.replayer.predict(model, batch).reshape(batch.rows, -1).float()
        target = batch.target.to(output.device).float().reshape(output.shape)
        weight = self.pos_weight.to(output.device)
        if self.kind.output == "probabilities":
            p = output.clamp(EPSILON, 1 - EPSILON)
            return -(weight * target * p.log() + (1 - target) * (-p).log1p()).mean()
        return F.binary_cross_entropy_with_logits(output, target, pos_weight=weight)
