"""class_imbalance: most rows belong to one class and the model learns to predict only it.

The run's validation loss sits at the constant guess (the training class frequencies), and a
replay of the user's setup recalls almost none of the other classes. A replay with the minority
rows oversampled (each batch resampled to equal class shares) shows the fix: its balanced
accuracy (the mean of the per-class recalls) is compared with the plain replay's, on the same
validation rows. The balanced metric is reported because oversampling raises the plain loss.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from lossdoctor.capture.tensors import take_rows
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._plain import plain_number
from lossdoctor.checks._tabular import _target
from lossdoctor.experiments import Plan
from lossdoctor.findings import Cause, Experiment, Finding, Skip
from lossdoctor.losses import CLASSIFICATION, LossKind, loss_kind

CLASS_IMBALANCE = Cause(
    id="class_imbalance",
    title="The model predicts the majority class",
    fix=(
        "Weight the loss by class (weight= in CrossEntropyLoss, pos_weight= in BCEWithLogitsLoss) "
        "or resample the classes."
    ),
    question="Does the model only predict the majority class?",
    test=(
        "class shares, per-class recall of a replay; replay with the minority oversampled "
        "(balanced log loss)"
    ),
)

CAUSES = (CLASS_IMBALANCE,)


#: The majority class must hold at least this share of the training rows to call it imbalance.
MAJORITY_SHARE = 0.7
#: The run's validation loss must not be this many standard errors below the constant guess
#: (per-row log losses spread about as wide as their mean, so a mean over n rows has a standard
#: error of about loss / sqrt(n)).
STANDARD_ERRORS = 3.0
#: Balanced accuracy the oversampled replay must gain over the plain one to show the fix works.
MEANINGFUL_GAIN = 0.1
#: Smallest probability a prediction is given when scoring log loss (as if clipped).
EPSILON = 1e-7


@dataclass
class Balance:
    counts: np.ndarray  # training rows per class id (0..classes-1)

    @property
    def shares(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    @property
    def majority(self) -> int:
        return int(self.counts.argmax())


def check(case) -> list[Finding]:
    kind = loss_kind(case.trace.setup.loss_name)
    if kind is None:
        raise Skip("needs a loss whose task is known (cross-entropy, BCE, MSE, ...)")
    if kind.task != CLASSIFICATION:
        return []
    replayer = case.require_replay()
    balance = class_balance(replayer.train_batches)
    if balance.shares.max() < MAJORITY_SHARE:
        return []
    constant, user = case.constant_guess_loss("validation"), case.run_best_validation()
    if constant is None or not _at_constant(user, constant, _validation_rows(replayer)):
        return []
    plain, oversampled = _replays(case, balance, kind)
    if plain.recalls.min() > 1 - MAJORITY_SHARE:  # every class is recalled as often as it is rare
        return []
    return [_finding(balance, constant, user, plain, oversampled)]


def class_balance(batches) -> Balance:
    labels = np.concatenate([_target(b, CLASSIFICATION) for b in batches])
    if labels.min() < 0:
        raise Skip("needs class labels from 0 up")
    counts = np.bincount(labels)
    if (counts > 0).sum() < 2:
        raise Skip("needs at least two classes among the training labels")
    return Balance(counts)



def _validation_rows(replayer) -> int:
    return sum(b.rows for b in replayer.validation_batches)


def _at_constant(user: float, constant: float, rows: int) -> bool:
    margin = STANDARD_ERRORS / math.sqrt(max(rows, 1))
    return user >= constant * (1 - margin)


# --- replays ---------------------------------------------------------------------------------


@dataclass
class Scores:
    """Per-class validation scores of one trained model."""

    classes: np.ndarray  # the class ids present among the validation rows
    recalls: np.ndarray
    log_losses: np.ndarray  # mean log loss of each class's rows

    def minority_recall(self, majority: int) -> float:
        others = self.recalls[self.classes != majority]
        return float(others.mean()) if len(others) else math.nan

    @property
    def balanced_accuracy(self) -> float:
        return float(self.recalls.mean())

    @property
    def balanced_log_loss(self) -> float:
        return float(self.log_losses.mean())


def _replays(case, balance: Balance, kind: LossKind) -> tuple[Scores, Scores]:
    """Per-class validation scores after the user's setup and after oversampling."""
    replayer = case.replayer
    plain = _trained(replayer, None)
    oversampled = _trained(replayer, _oversampler(replayer, balance))
    return _scores(replayer, plain, kind), _scores(replayer, oversampled, kind)


def _trained(replayer, transform):
    model = copy.deepcopy(replayer.copies.initial_model)
    replayer.replay(Plan(model=model, transform=transform, steps=REPLAY_STEPS))
    return model


def _oversampler(replayer, balance: Balance):
    """Resamples each training batch so every class present gets an equal share of its rows;
    validation batches pass unchanged."""
    validation = {id(b) for b in replayer.validation_batches}
    weights = torch.tensor(1.0 / np.maximum(balance.counts, 1), dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)

    def oversample(batch):
        if id(batch) in validation:
            return batch
        labels = torch.from_numpy(_target(batch, CLASSIFICATION)).clamp(0, len(weights) - 1)
        rows = torch.multinomial(weights[labels], batch.rows, replacement=True,
                                 generator=generator).tolist()
        return replace(batch, args=take_rows(batch.args, rows, batch.rows),
                       kwargs=take_rows(batch.kwargs, rows, batch.rows),
                       target=take_rows(batch.target, rows, batch.rows))
    return oversample


@torch.no_grad()
def _scores(replayer, model, kind: LossKind) -> Scores:
    """Recall and mean log loss of each class present among the validation rows."""
    model.eval()
    labels, log_probabilities = [], []
    for batch in replayer.validation_batches:
        output = replayer.predict(model, batch).reshape(batch.rows, -1).double()
        log_probabilities.append(_log_probabilities(output, kind))
        labels.append(torch.from_numpy(_target(batch, CLASSIFICATION)))
    label, log_p = torch.cat(labels), torch.cat(log_probabilities)
    label = label.clamp(0, log_p.shape[1] - 1)
    hit = (log_p.argmax(dim=1) == label).double()
    row_loss = -log_p.gather(1, label[:, None])[:, 0].clamp(min=math.log(EPSILON))
    present = label.unique()
    return Scores(present.numpy(), np.array([float(hit[label == c].mean()) for c in present]),
                  np.array([float(row_loss[label == c].mean()) for c in present]))


def _log_probabilities(output: torch.Tensor, kind: LossKind) -> torch.Tensor:
    """Log-probabilities of every class, (rows, classes), from the model's output."""
    if kind.binary:
        if kind.output == "probabilities":
            p = output[:, :1].clamp(EPSILON, 1 - EPSILON)
            return torch.cat([torch.log1p(-p), torch.log(p)], dim=1)
        logit = output[:, :1]
        return torch.cat([torch.nn.functional.logsigmoid(-logit),
                          torch.nn.functional.logsigmoid(logit)], dim=1)
    if kind.output == "log-probabilities":
        return output
    return torch.log_softmax(output, dim=1)


# --- finding ---------------------------------------------------------------------------------


def _finding(balance, constant, user, plain: Scores, oversampled: Scores) -> Finding:
    gain = oversampled.balanced_accuracy - plain.balanced_accuracy
    confidence = 0.6 + 0.35 * min(gain / 0.3, 1.0) if gain >= MEANINGFUL_GAIN else 0.3
    experiment = Experiment(
        description="oversample the minority classes",
        measure="balanced validation loss (each class counts equally)",
        before=plain.balanced_log_loss, after=oversampled.balanced_log_loss, steps=REPLAY_STEPS,
    )
    evidence = {
        "majority_class": float(balance.majority),
        "majority_share": float(balance.shares.max()),
        "classes": float(len(balance.counts)),
        "user_validation_loss": user,
        "constant_guess_validation_loss": constant,
        "minority_recall_before": plain.minority_recall(balance.majority),
        "minority_recall_after": oversampled.minority_recall(balance.majority),
        "balanced_accuracy_before": plain.balanced_accuracy,
        "balanced_accuracy_after": oversampled.balanced_accuracy,
        "balanced_log_loss_before": plain.balanced_log_loss,
        "balanced_log_loss_after": oversampled.balanced_log_loss,
    }
    return Finding(CLASS_IMBALANCE, confidence, _verdict(balance, constant, user, evidence),
                   evidence, fix=_fix(balance), experiment=experiment)


def _fix(balance: Balance) -> str:
    """The default fix, with the weights that would balance these classes."""
    counts = np.maximum(balance.counts, 1)
    if len(counts) == 2:
        weights = f"pos_weight=torch.tensor([{counts[0] / counts[1]:.3g}])"
    else:
        balanced = counts.sum() / (len(counts) * counts)
        weights = f"weight=torch.tensor([{', '.join(f'{w:.3g}' for w in balanced)}])"
    return (f"{CLASS_IMBALANCE.fix} For your class counts: {weights}, or a "
            "WeightedRandomSampler with weights 1 / (rows of the row's class); judge the result "
            "by per-class recall, not by the plain loss, which weighting raises.")


def _beside(user: float, constant: float) -> str:
    """class_imbalance_fraud: 0.254 "no better than" the guess's 0.266 read as a misprint."""
    return "barely better than" if user < constant else "no better than"


def _verdict(balance: Balance, constant: float, user: float, evidence: dict) -> str:
    share = f"{balance.shares.max():.0%}"
    text = (
        f"Class {balance.majority} holds {share} of your training rows, and your model's best "
        f"validation loss ({plain_number(user)}) is {_beside(user, constant)} always guessing "
        f"the class "
        f"frequencies ({plain_number(constant)}): it predicts the majority class. A replay of "
        f"your training recalls {evidence['minority_recall_before']:.0%} of the other classes' "
        "validation rows"
    )
    before, after = evidence["balanced_accuracy_before"], evidence["balanced_accuracy_after"]
    if after - before >= MEANINGFUL_GAIN:
        return text + (
            f"; with the minority rows oversampled it recalls "
            f"{evidence['minority_recall_after']:.0%} of them (balanced accuracy {before:.2f} "
            f"-> {after:.2f}), so the inputs do tell the classes apart."
        )
    return text + (
        f", and oversampling them did not help (balanced accuracy {before:.2f} -> {after:.2f}): "
        "the imbalance is not what holds it back."
    )
