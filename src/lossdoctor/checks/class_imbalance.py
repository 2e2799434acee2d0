"""class_imbalance: most rows belong to one class and the model learns to predict only it.

Either the run's validation loss sits at the constant guess (the training class frequencies)
and a replay of the user's setup recalls almost none of the other classes, or, with a loss
that moved below the guess (the model learned the class frequencies and a little more), the
run's own trained model is shown to recall almost none of the other classes' validation rows
(a binomial bound on the rows it recalled), or to recall them far less often than the majority
class (the same bound below four fifths of the majority's recall) while replays as long as the
run gain balanced accuracy with the classes balanced, or the run's own model gains it on the
validation rows with each class's share of the training rows taken out of its decision (logit
adjustment: what weighting the loss by class shifts its outputs by), for replays too short to
show the fix. A run's model that recalls the other classes at least four fifths as often as the
majority is left alone, whatever a replay does.
Two replays show the fix: one with the minority rows oversampled (each batch resampled to equal
class shares), one with the loss weighted by class; the better one's balanced accuracy (the
mean of the per-class recalls) is compared with the plain replay's, on the same validation
rows. Balanced metrics are reported because both fixes raise the plain loss.

The weights the training loss gives each class (``weight=``, ``pos_weight=``, or per-row
weights looked up from the labels) are read from its gradients (:mod:`._loss_fed`) and reported;
weights that give the rarer classes less than the majority (DEEPENING_SHARE) are named in the
verdict. A binary loss given one number per row computed from a wider output (``out[:, 1] -
out[:, 0]``) is scored on that number, as the loss reads it.

Multi-label 0/1 targets (several labels per row, one BCE output each: checks/_multi_label.py)
are read label by label: the labels positive in at most RARE_LABEL_SHARE of the training rows
are rare, and when the run's own model says "no" to them all (their positives, pooled, recalled
below RARE_RECALL with BOUND_CONFIDENCE), a replay with each label's positives weighted by its
negatives / positives (BCEWithLogitsLoss' pos_weight) is compared with the plain replay: the
validation loss, the balanced loss, the rare labels' recall and their mean F1.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy import stats

from lossdoctor.capture.tensors import take_rows
from lossdoctor.case import REPLAY_STEPS
from lossdoctor.checks._loss_fed import class_weights, loss_fed
from lossdoctor.checks._multi_label import (
    RARE_LABEL_SHARE,
    YES,
    LabelRates,
    LabelScores,
    PosWeightedLoss,
    label_rates,
    label_scores,
)
from lossdoctor.checks._plain import plain_number
from lossdoctor.checks._tabular import _target
from lossdoctor.experiments import Plan
from lossdoctor.findings import DATA_STAGE, Cause, Experiment, Finding, Skip
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
        "class shares, the trained model's recall of the other classes (binomial bound, "
        "alone and against four fifths of the majority's recall), "
        "per-class recall of a replay; replays with the minority oversampled or the loss "
        "weighted by class (balanced log loss), or the trained model's balanced accuracy "
        "with the class shares taken out of its decision; the loss's own class weights, read "
        "from its "
        "gradients (weights that favour the majority named); for multi-label 0/1 targets, "
        "each label's "
        "positive rate, the trained model's recall of the rare labels' positives and a replay "
        "with pos_weight (recall and F1 per label)"
    ),
    stage=DATA_STAGE,
)

CAUSES = (CLASS_IMBALANCE,)


#: The majority class must hold at least this share of the training rows to call it imbalance.
MAJORITY_SHARE = 0.7
#: The run's validation loss must not be this many standard errors below the constant guess
#: (per-row log losses spread about as wide as their mean, so a mean over n rows has a standard
#: error of about loss / sqrt(n)).
STANDARD_ERRORS = 3.0
#: With a loss below the constant guess, the other classes count as never predicted when the
#: one-sided upper 95% binomial bound (Clopper-Pearson) on their recall, from the minority rows
#: the model recalled, is below this: the at-constant rule's own line (a recall of at most
#: 1 - MAJORITY_SHARE), held with 95% confidence rather than as a point estimate.
RARE_RECALL = 1 - MAJORITY_SHARE
#: The bound's confidence level.
BOUND_CONFIDENCE = 0.95
#: A model that does predict the other classes, but rarely, is held to the majority's recall:
#: they count as recalled far less when the same bound on their recall is below this fraction of
#: the majority class's recall, the four-fifths rule of adverse impact (29 CFR 1607.4(D): a
#: group selected at under 4/5 the rate of the most selected group is disadvantaged). Dev
#: (seeds 240000-240159, the run's model on every captured row, majority recall 0.99-1.00):
#: broken runs that recall some rare rows, 14 of 65 (bound 0.32) and 27 of 56 (0.60); imbalanced
#: runs that learned the rare classes, 28 of 35 (0.92), 37 of 41 (0.97), 38 of 39 (1.00), and
#: session 17's pos_weight twin of fresh16 s15, 94 of 118 (0.86).
FOUR_FIFTHS = 0.8
#: Balanced accuracy the better fix's replay must gain over the plain one to show the fix works.
MEANINGFUL_GAIN = 0.1
#: Confidence when the run's own model is shown to recall almost none of the other classes
#: but neither fix's replay gains MEANINGFUL_GAIN (a replay may recall them already).
SHOWN_WITHOUT_FIX = 0.6
#: The loss's weights deepen the imbalance when a row of the other classes counts less than
#: this share of a majority row: any weight below the majority's does, and 1% leaves room
#: for float rounding of equal weights (read from gradients, equal to about 1e-7).
DEEPENING_SHARE = 0.99
#: Training batches the loss's class weights are read on (a few dozen minority rows).
WEIGHT_BATCHES = 4
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
    rates = label_rates(replayer.train_batches) if kind.binary else None
    if rates is not None:
        return _multi_label(case, kind, rates)
    balance = class_balance(replayer.train_batches)
    if balance.shares.max() < MAJORITY_SHARE:
        return []
    constant, user = case.constant_guess_loss("validation"), case.run_best_validation()
    at_constant = constant is not None and _at_constant(user, constant,
                                                        _validation_rows(replayer))
    replays = Replays(case, scored_as_meant(case.trace, kind))
    run = _run_that_favours(replays, balance.majority)
    if run is None:
        return []  # the model recalls the other classes about as often as the majority
    shown = never_predicted(run, balance.majority) or _never_on_new_rows(replays, run,
                                                                         balance.majority)
    seen = shown or (at_constant and _rare_recalled_rarely(replays.plain()))
    if not seen:
        replays = replays.lasting(case.trace.steps)
    fixes = (replays.trained(_oversampler(replayer, balance), None),
             replays.trained(None, _weighted_loss(replayer, balance, kind)))
    moved = None
    if not seen and _gain(replays.plain(), fixes) < MEANINGFUL_GAIN:
        moved = replays.run_prior_removed(balance)
        if moved is None or moved_gain(moved) < MEANINGFUL_GAIN:
            return []  # the majority favoured, but balancing the classes did not help
    finding = _finding(balance, constant, user, (at_constant, shown), replays, fixes)
    finding = with_prior_removed(finding, moved) if moved is not None else finding
    return [with_loss_weights(finding, balance, _minority_weight(case, balance))]


def moved_gain(moved: tuple[Scores, Scores]) -> float:
    """Balanced accuracy the run's own model gains on the validation rows when each class's
    share of the training rows is taken out of its decision."""
    as_trained, prior_removed = moved
    return prior_removed.balanced_accuracy - as_trained.balanced_accuracy


def with_prior_removed(finding: Finding, moved: tuple[Scores, Scores]) -> Finding:
    """``finding`` backed by the run's own model with the class shares taken out of its
    decision (logit adjustment), when replays as long as the run were too short to show the
    balancing fix: the model ranks the other classes' rows above the majority's, and only the
    class frequencies it learned keep it from predicting them."""
    as_trained, prior_removed = moved
    gain = moved_gain(moved)
    finding.evidence["balanced_accuracy_run"] = as_trained.balanced_accuracy
    finding.evidence["balanced_accuracy_run_prior_removed"] = prior_removed.balanced_accuracy
    finding.verdict += (
        f" Your trained model itself tells the classes apart: with each class's share of the "
        f"training rows taken out of its decision (what weighting the loss by class does to a "
        f"model's outputs), its balanced accuracy on the validation rows goes from "
        f"{as_trained.balanced_accuracy:.2f} to {prior_removed.balanced_accuracy:.2f}.")
    finding.confidence = max(finding.confidence, _confidence(gain, False))
    return finding


def scored_as_meant(trace, kind: LossKind) -> LossKind:
    """The kind the model's predictions are scored as: a binary loss on logits given values in
    [0, 1] at every sampled training call (a sigmoid before BCEWithLogitsLoss, loss_setup's
    loss_mismatch) is scored on the probabilities the model meant, not on them read as logits,
    which put every row at 0.5 or above and so recall every rare row. The replays still train
    the loss as the script computes it."""
    calls = [s for s in trace.loss_inputs if s.phase == "train"]
    if not (kind.binary and kind.output == "logits" and calls):
        return kind
    if all(s.prediction_min >= 0 and s.prediction_max <= 1 for s in calls):
        return replace(kind, output="probabilities")
    return kind


def _run_that_favours(replays: Replays, majority: int) -> Scores | None:
    """The run's own model's scores that recall the other classes far less than the majority:
    on every captured row, else on the validation rows alone, which a model that memorized
    its training rows does not recall as it recalls those (dev rare_positive_threshold 291227,
    291228: every training positive recalled, 88% and 86% of all captured positives, but 21 of
    39 and 8 of 22 validation positives, bounds 0.68 and 0.56 against 0.97 and 1.0 of the
    majority's; called healthy). None when neither does (the scores kept are every row's)."""
    every = replays.run_scores()
    if recalled_far_less(every, majority):
        return every
    new_rows = replays.run_on_validation()
    if new_rows is None or not recalled_far_less(new_rows, majority):
        return None
    replays.use_run_scores(new_rows)
    return new_rows


def _never_on_new_rows(replays: Replays, run: Scores, majority: int) -> bool:
    """Whether the run's own model, scored on every captured row, recalls the other classes far
    less than the majority but not "never", while on the validation rows alone it never
    predicts them (never_predicted): a model that memorized some of its rare training rows and
    predicts none of the new ones. Every row's recall is lifted by the memorized rows, and with
    the loss below the guess no other symptom is seen, so the run was called healthy unless
    the same-length replays gained MEANINGFUL_GAIN. The validation rows' scores are then the
    ones kept (the verdict says so)."""
    if run.fix != "run":
        return False  # a replay's scores, or the validation rows' already
    new_rows = replays.run_on_validation()
    if new_rows is None or not never_predicted(new_rows, majority):
        return False
    replays.use_run_scores(new_rows)
    return True


def _rare_recalled_rarely(scores: Scores) -> bool:
    """Some class recalled no more often than the minority's share at most (the rule of a loss
    at the constant guess, on a replay)."""
    return scores.recalls.min() <= 1 - MAJORITY_SHARE


def never_predicted(scores: Scores, majority: int) -> bool:
    """Whether the other classes together, or one of them, are recalled below RARE_RECALL with
    BOUND_CONFIDENCE (the level shared among the tests, Bonferroni)."""
    return least_recalled(scores, majority).bound < RARE_RECALL


def recalled_far_less(scores: Scores, majority: int) -> bool:
    """Whether the other classes together, or one of them, are recalled below FOUR_FIFTHS of the
    majority class's recall with BOUND_CONFIDENCE (Bonferroni, as never_predicted)."""
    return least_recalled(scores, majority).bound < FOUR_FIFTHS * scores.recall_of(majority)


@dataclass
class Recalled:
    label: int | None  # the class, None for all the other classes together
    hits: int
    rows: int
    bound: float


def least_recalled(scores: Scores, majority: int) -> Recalled:
    """The other classes together, or the one of them, with the lowest bound on its recall."""
    groups = [(None, *scores.minority_hits(majority))]
    others = [c for c in scores.classes if c != majority]
    if len(others) > 1:
        groups += [(int(c), *scores.hits_of(c)) for c in others]
    level = (1 - BOUND_CONFIDENCE) / len(groups)
    return min((Recalled(label, hits, rows, recall_bound(hits, rows, level))
                for label, hits, rows in groups), key=lambda group: group.bound)


def recall_bound(hits: int, rows: int, level: float = 1 - BOUND_CONFIDENCE) -> float:
    """One-sided upper Clopper-Pearson bound, at 1 - ``level``, on a recall of ``hits`` in
    ``rows``."""
    if hits >= rows:
        return 1.0
    return float(stats.beta.ppf(1 - level, hits + 1, rows - hits))


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
    rows: np.ndarray  # validation rows of each class
    fix: str = ""  # the fix the model was trained with ("" for the user's setup)

    def minority_recall(self, majority: int) -> float:
        others = self.recalls[self.classes != majority]
        return float(others.mean()) if len(others) else math.nan

    def minority_hits(self, majority: int) -> tuple[int, int]:
        """Rows of the other classes recalled, and rows of the other classes."""
        return self._hits(self.classes != majority)

    def recall_of(self, label: int) -> float:
        return float(self.recalls[self.classes == label].mean())

    def hits_of(self, label: int) -> tuple[int, int]:
        """Rows of class ``label`` recalled, and its rows."""
        return self._hits(self.classes == label)

    def _hits(self, chosen: np.ndarray) -> tuple[int, int]:
        return (int(round(float((self.recalls * self.rows)[chosen].sum()))),
                int(self.rows[chosen].sum()))

    @property
    def balanced_accuracy(self) -> float:
        return float(self.recalls.mean())

    @property
    def balanced_log_loss(self) -> float:
        return float(self.log_losses.mean())


#: The ``fix`` of the run's own model's scores on the validation rows alone.
RUN_ON_VALIDATION = "run on validation rows"


class Replays:
    """The scores of the models a check compares, each trained once: the user's setup replayed,
    the run's own trained model, and replays with a fix."""

    def __init__(self, case, kind: LossKind, steps: int = REPLAY_STEPS):
        self.case, self.kind, self.steps, self._plain, self._run = case, kind, steps, None, None

    def lasting(self, steps: int) -> Replays:
        """Replays of ``steps`` steps (at least one), scoring the same run's model: a model
        that favours the majority after a short run is compared with fixes given as many steps
        (a replay of REPLAY_STEPS may learn the rare classes the shorter run had not reached
        yet, balanced or not)."""
        matched = Replays(self.case, self.kind, max(min(steps, REPLAY_STEPS), 1))
        matched._run = self.run_scores()
        return matched

    def plain(self) -> Scores:
        if self._plain is None:
            self._plain = self.trained(None, None)
        return self._plain

    def run_scores(self) -> Scores:
        """The run's own trained model's, on every captured row (a model that never predicts a
        class does so on its training rows too; a validation set holds few rare rows), else
        the plain replay's."""
        if self._run is None:
            final, replayer = self.case.copies.final_model, self.case.replayer
            rows = replayer.train_batches + replayer.validation_batches
            self._run = self.plain() if final is None else replace(
                _scores(replayer, copy.deepcopy(final), self.kind, rows), fix="run")
        return self._run

    def run_on_validation(self) -> Scores | None:
        """The run's own trained model's scores on the validation rows alone (None without a
        trained model or validation rows)."""
        final, replayer = self.case.copies.final_model, self.case.replayer
        if final is None or not replayer.validation_batches:
            return None
        return replace(_scores(replayer, copy.deepcopy(final), self.kind), fix=RUN_ON_VALIDATION)

    def run_prior_removed(self, balance: Balance) -> tuple[Scores, Scores] | None:
        """The run's own model's scores on the validation rows as it decides, and with each
        class's log share of the training rows subtracted from its log-probabilities (the
        prior correction of Saerens et al. 2002; post-hoc logit adjustment, Menon et al. 2021:
        what a loss weighted by class shifts the optimum by). None without a trained model or
        validation rows."""
        final, replayer = self.case.copies.final_model, self.case.replayer
        if final is None or not replayer.validation_batches:
            return None
        model = copy.deepcopy(final)
        log_prior = torch.log(torch.as_tensor(balance.shares, dtype=torch.float64).clamp(
            min=1 / balance.counts.sum()))
        return (_scores(replayer, model, self.kind),
                _scores(replayer, model, self.kind, log_prior=log_prior))

    def use_run_scores(self, scores: Scores) -> None:
        self._run = scores

    def trained(self, transform, loss) -> Scores:
        replayer = self.case.replayer
        model = copy.deepcopy(replayer.copies.initial_model)
        replayer.replay(Plan(model=model, transform=transform, loss=loss, steps=self.steps))
        fix = "oversample" if transform else "weight" if loss else ""
        return replace(_scores(replayer, model, self.kind), fix=fix)


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


@dataclass
class WeightedLoss:
    """The log loss of the model's prediction, each row weighted by rows / (classes x rows of
    its class), as CrossEntropyLoss(weight=...) and BCEWithLogitsLoss(pos_weight=...) weigh."""

    replayer: object
    weights: torch.Tensor
    kind: LossKind

    def loss(self, model, batch) -> torch.Tensor:
        output = _scored_output(self.replayer, model, batch, self.kind).float()
        log_p = _log_probabilities(output, self.kind)
        labels = torch.from_numpy(_target(batch, CLASSIFICATION)).clamp(0, log_p.shape[1] - 1)
        weight = self.weights.to(log_p.device)[labels.clamp(max=len(self.weights) - 1)]
        row_loss = -log_p.gather(1, labels.to(log_p.device)[:, None])[:, 0]
        return (weight * row_loss).sum() / weight.sum()


def _weighted_loss(replayer, balance: Balance, kind: LossKind) -> WeightedLoss:
    counts = np.maximum(balance.counts, 1)
    weights = torch.tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32)
    return WeightedLoss(replayer, weights, kind)


@torch.no_grad()
def _scores(replayer, model, kind: LossKind, batches=None,
            log_prior: torch.Tensor | None = None) -> Scores:
    """Recall and mean log loss of each class present among ``batches``' rows (the validation
    rows when not given); with ``log_prior`` (per class), recall of the decision with it
    subtracted from the log-probabilities."""
    model.eval()
    labels, log_probabilities = [], []
    for batch in replayer.validation_batches if batches is None else batches:
        output = _scored_output(replayer, model, batch, kind).double()
        log_probabilities.append(_log_probabilities(output, kind))
        labels.append(torch.from_numpy(_target(batch, CLASSIFICATION)))
    label, log_p = torch.cat(labels), torch.cat(log_probabilities)
    label = label.clamp(0, log_p.shape[1] - 1)
    hit = (_decided(log_p, log_prior) == label).double()
    row_loss = -log_p.gather(1, label[:, None])[:, 0].clamp(min=math.log(EPSILON))
    present = label.unique()
    return Scores(present.numpy(), np.array([float(hit[label == c].mean()) for c in present]),
                  np.array([float(row_loss[label == c].mean()) for c in present]),
                  np.array([int((label == c).sum()) for c in present]))


def _decided(log_p: torch.Tensor, log_prior: torch.Tensor | None) -> torch.Tensor:
    """The class each row is given: the most probable, or with ``log_prior`` taken out (a
    class the training rows never held keeps its log-probability)."""
    if log_prior is None:
        return log_p.argmax(dim=1)
    shift = torch.zeros(log_p.shape[1], dtype=log_p.dtype)
    shared = min(len(log_prior), log_p.shape[1])
    shift[:shared] = log_prior[:shared].to(log_p.dtype)
    return (log_p - shift.to(log_p.device)).argmax(dim=1)


def _scored_output(replayer, model, batch, kind: LossKind) -> torch.Tensor:
    """The model's output as the loss reads it, (rows, outputs): the output itself, or, for a
    binary loss given one number per row computed from a wider output (``out[:, 1] -
    out[:, 0]``), that number (:mod:`._loss_fed`). Read as the output's first column, a
    two-column model that never says yes recalled its rare class (dev, session 31)."""
    output = replayer.predict(model, batch).reshape(batch.rows, -1)
    if not kind.binary or output.shape[1] == 1:
        return output
    fed = loss_fed(replayer, model, batch)
    if fed is None or fed.prediction.numel() != batch.rows:
        return output
    prediction = fed.prediction.reshape(batch.rows, 1)
    return prediction if torch.is_grad_enabled() else prediction.detach()


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


def _finding(balance, constant, user, symptoms: tuple[bool, bool], replays: Replays,
             fixes: tuple[Scores, Scores]) -> Finding:
    """``symptoms``: the loss at the constant guess, and the run's own model shown to recall
    almost none of the other classes."""
    at_constant, shown = symptoms
    plain = replays.plain()
    fixed = _better(fixes)
    gain = _gain(plain, fixes)
    experiment = Experiment(
        description=FIX_DESCRIPTIONS[fixed.fix],
        measure="balanced validation loss (each class counts equally)",
        before=plain.balanced_log_loss, after=fixed.balanced_log_loss, steps=replays.steps,
    )
    evidence = {
        "majority_class": float(balance.majority),
        "majority_share": float(balance.shares.max()),
        "classes": float(len(balance.counts)),
        "user_validation_loss": user,
        "constant_guess_validation_loss": math.nan if constant is None else constant,
        "at_constant_guess": float(at_constant),
        "never_predicted": float(shown),
        **_run_recall(replays.run_scores(), balance.majority),
        "minority_recall_before": plain.minority_recall(balance.majority),
        "minority_recall_after": fixed.minority_recall(balance.majority),
        "balanced_accuracy_before": plain.balanced_accuracy,
        "balanced_accuracy_after": fixed.balanced_accuracy,
        "balanced_accuracy_oversampled": fixes[0].balanced_accuracy,
        "balanced_accuracy_weighted": fixes[1].balanced_accuracy,
        "balanced_log_loss_before": plain.balanced_log_loss,
        "balanced_log_loss_after": fixed.balanced_log_loss,
    }
    return Finding(CLASS_IMBALANCE, _confidence(gain, shown),
                   _verdict(balance, constant, user, evidence, fixed.fix), evidence,
                   fix=_fix(balance), experiment=experiment)


def _minority_weight(case, balance: Balance) -> float | None:
    """The weight the training loss gives a row of the other classes over a majority row (the
    mean of theirs), read on the first training batches from the initial model's gradients
    (:func:`._loss_fed.class_weights`); None when it cannot be read."""
    replayer = case.replayer
    if case.copies.initial_model is None:
        return None
    model = copy.deepcopy(case.copies.initial_model)
    weights = []
    for batch in replayer.train_batches[:WEIGHT_BATCHES]:
        try:
            fed = loss_fed(replayer, model, batch)
        except (Skip, RuntimeError, ValueError, TypeError):
            return None
        labels = torch.from_numpy(_target(batch, CLASSIFICATION))
        read = None if fed is None else class_weights(fed, labels, len(balance.counts))
        if read is not None:
            weights.append(read)
    if not weights:
        return None
    mean = np.nanmean(np.array(weights), axis=0)
    others = [w for c, w in enumerate(mean) if c != balance.majority and np.isfinite(w)]
    majority = mean[balance.majority]
    if not others or not np.isfinite(majority) or majority <= 0:
        return None
    return float(np.mean(others) / majority)


def with_loss_weights(finding: Finding, balance: Balance, minority: float | None) -> Finding:
    """``finding`` with the loss's own class weights in its evidence, and, when they weight the
    other classes below the majority (DEEPENING_SHARE), in its verdict and fix."""
    if minority is None:
        return finding
    finding.evidence["loss_minority_weight"] = minority
    if minority >= DEEPENING_SHARE:
        return finding
    finding.verdict += (
        f" Your loss weights each row of the other classes {minority:.2g} times as much as a "
        f"row of class {balance.majority}: its class weights point the wrong way, and deepen "
        "the imbalance instead of making up for it.")
    finding.fix = ("Give the rarer classes the larger weights (yours give the majority the "
                   "larger one). " + finding.fix)
    return finding


def _better(fixes: tuple[Scores, Scores]) -> Scores:
    return max(fixes, key=lambda scores: scores.balanced_accuracy)


def _gain(plain: Scores, fixes: tuple[Scores, Scores]) -> float:
    """Balanced accuracy the better fix's replay gains over the plain replay's."""
    return _better(fixes).balanced_accuracy - plain.balanced_accuracy


FIX_DESCRIPTIONS = {"oversample": "oversample the minority classes",
                    "weight": "weight the loss by class"}


def _run_recall(scores: Scores, majority: int) -> dict:
    least = least_recalled(scores, majority)
    return {"run_model_scored": float(scores.fix in ("run", RUN_ON_VALIDATION)),
            "run_model_on_validation_rows": float(scores.fix == RUN_ON_VALIDATION),
            "least_recalled_class": math.nan if least.label is None else float(least.label),
            "minority_rows_recalled": float(least.hits), "minority_rows": float(least.rows),
            "minority_recall_bound": least.bound,
            "majority_recall": scores.recall_of(majority)}


def _confidence(gain: float, shown: bool) -> float:
    if gain >= MEANINGFUL_GAIN:
        return 0.6 + 0.35 * min(gain / 0.3, 1.0)
    return SHOWN_WITHOUT_FIX if shown else 0.3


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


def _verdict(balance: Balance, constant, user: float, evidence: dict, fix: str) -> str:
    before, after = evidence["balanced_accuracy_before"], evidence["balanced_accuracy_after"]
    if after - before >= MEANINGFUL_GAIN:
        return _symptom(balance, constant, user, evidence) + (
            f"; {FIX_WORDS[fix]} it recalls {evidence['minority_recall_after']:.0%} of them "
            f"(balanced accuracy {before:.2f} -> {after:.2f}), so the inputs do tell the "
            "classes apart."
        )
    if evidence["never_predicted"]:
        return _symptom(balance, constant, user, evidence) + (
            f"; oversampling them or weighting the loss by class moved a replay's balanced "
            f"accuracy {before:.2f} -> {after:.2f} at best, too little to show the fix at work "
            f"in {REPLAY_STEPS} steps."
        )
    return _symptom(balance, constant, user, evidence) + (
        f", and neither oversampling them nor weighting the loss by class helped (balanced "
        f"accuracy {before:.2f} -> {after:.2f} at best): the imbalance is not what holds it back."
    )


FIX_WORDS = {"oversample": "with the minority rows oversampled",
             "weight": "with the loss weighted by class"}


def _symptom(balance: Balance, constant, user: float, evidence: dict) -> str:
    share = f"Class {balance.majority} holds {balance.shares.max():.0%} of your training rows"
    if evidence["at_constant_guess"]:
        return (
            f"{share}, and your model's best validation loss ({plain_number(user)}) is "
            f"{_beside(user, constant)} always guessing the class frequencies "
            f"({plain_number(constant)}): it predicts the majority class. A replay of your "
            f"training recalls {evidence['minority_recall_before']:.0%} of the other classes' "
            "validation rows"
        )
    recalled, rows = int(evidence["minority_rows_recalled"]), int(evidence["minority_rows"])
    return (
        f"{share}, and {_scored(evidence)} recalls {recalled} of {_whose(evidence)} {rows} "
        f"rows{_favours(balance, evidence)}, though its loss "
        f"learned the class frequencies and a little more{_below(user, constant)}. A replay "
        f"of your training recalls {evidence['minority_recall_before']:.0%} of the other "
        "classes' validation rows (the mean over those classes)"
    )


def _favours(balance: Balance, evidence: dict) -> str:
    if evidence["never_predicted"]:
        return ": it predicts the majority class"
    share = evidence["minority_rows_recalled"] / max(evidence["minority_rows"], 1)
    return (f" ({share:.0%}), against {evidence['majority_recall']:.0%} of class "
            f"{balance.majority}'s: it favours the majority class")


def _whose(evidence: dict) -> str:
    label = evidence["least_recalled_class"]
    return "the other classes'" if math.isnan(label) else f"class {int(label)}'s"


def _scored(evidence: dict) -> str:
    if evidence["run_model_on_validation_rows"]:
        return "your trained model (on the validation rows: it recalls its training rows)"
    if evidence["run_model_scored"]:
        return "your trained model (on its training and validation rows)"
    return "a replay of your training (on the validation rows)"


def _below(user: float, constant) -> str:
    if constant is None:
        return ""
    return (f" (best validation loss {plain_number(user)}, always guessing the class "
            f"frequencies {plain_number(constant)})")


# --- multi-label targets -----------------------------------------------------------------------


def _multi_label(case, kind: LossKind, rates: LabelRates) -> list[Finding]:
    """The rare labels (RARE_LABEL_SHARE) of multi-label targets, when the run's own model
    never says "yes" to them; with the plain and the pos_weight replays."""
    if not rates.rare.any():
        return []
    run = _run_label_scores(case, kind, rates)
    replays = _label_replays(case, kind, rates) if run is None else None
    run = run or replays[0]  # without the run's model, the plain replay's scores
    hits, positives = run.recall(rates.rare)
    if positives == 0 or recall_bound(hits, positives) >= RARE_RECALL:
        return []
    replays = replays or _label_replays(case, kind, rates)
    return [_multi_label_finding(case, rates, run, replays)]


def _run_label_scores(case, kind: LossKind, rates: LabelRates) -> LabelScores | None:
    """The run's own trained model's scores on every captured row (a model that says "no" to
    a label does so on its training rows too; a validation set holds few rare positives);
    None without a trained model."""
    replayer, final = case.replayer, case.copies.final_model
    if final is None:
        return None
    rows = replayer.train_batches + replayer.validation_batches
    return label_scores(replayer, copy.deepcopy(final), kind, rates, rows)


def _label_replays(case, kind: LossKind, rates: LabelRates) -> tuple[LabelScores, LabelScores]:
    """The validation scores of a plain replay and of one with BCE's pos_weight set to each
    label's negatives / positives."""
    replayer = case.replayer
    scores = []
    for loss in (None, PosWeightedLoss(replayer, rates.pos_weight, kind)):
        model = copy.deepcopy(replayer.copies.initial_model)
        replayer.replay(Plan(model=model, loss=loss, steps=REPLAY_STEPS))
        scores.append(label_scores(replayer, model, kind, rates, replayer.validation_batches))
    return scores[0], scores[1]


def _multi_label_finding(case, rates: LabelRates, run: LabelScores,
                         replays: tuple[LabelScores, LabelScores]) -> Finding:
    plain, weighted = replays
    rare = rates.rare
    gain = _f1_gain(plain, weighted, rare)
    evidence = _multi_label_evidence(case, rates, run, plain, weighted)
    experiment = Experiment(
        description="weight each label's positives by its negatives / positives (pos_weight)",
        measure="balanced validation loss (each label's positives and negatives count equally)",
        before=plain.balanced_loss(rare), after=weighted.balanced_loss(rare),
        steps=REPLAY_STEPS)
    confidence = 0.6 + 0.35 * min(gain / 0.3, 1.0) if gain >= MEANINGFUL_GAIN else \
        SHOWN_WITHOUT_FIX
    return Finding(CLASS_IMBALANCE, confidence, _multi_label_verdict(rates, evidence, gain),
                   evidence, fix=_multi_label_fix(rates), experiment=experiment)


def _f1_gain(plain: LabelScores, weighted: LabelScores, rare: np.ndarray) -> float:
    before, after = plain.macro_f1(rare), weighted.macro_f1(rare)
    return 0.0 if math.isnan(before) or math.isnan(after) else after - before


def _multi_label_evidence(case, rates: LabelRates, run: LabelScores, plain: LabelScores,
                          weighted: LabelScores) -> dict:
    rare = rates.rare
    hits, positives = run.recall(rare)
    constant, user = case.constant_guess_loss("validation"), case.run_best_validation()
    return {
        "labels": float(len(rates.positives)), "rare_labels": float(rare.sum()),
        "rare_label_share_threshold": RARE_LABEL_SHARE,
        "median_positive_rate": float(np.median(rates.rates)),
        "rare_positive_rate_mean": float(rates.rates[rare].mean()),
        "run_rare_positives_recalled": float(hits), "run_rare_positives": float(positives),
        "run_rare_recall_bound": recall_bound(hits, positives),
        "run_rare_labels_at_constant_guess": run.at_constant_share(rare),
        "user_validation_loss": user,
        "constant_guess_validation_loss": math.nan if constant is None else constant,
        "validation_loss_before": plain.loss, "validation_loss_after": weighted.loss,
        "rare_recall_before": _recall(plain, rare), "rare_recall_after": _recall(weighted, rare),
        "rare_macro_f1_before": plain.macro_f1(rare),
        "rare_macro_f1_after": weighted.macro_f1(rare),
        "balanced_loss_before": plain.balanced_loss(rare),
        "balanced_loss_after": weighted.balanced_loss(rare),
    }


def _recall(scores: LabelScores, labels: np.ndarray) -> float:
    hits, positives = scores.recall(labels)
    return hits / positives if positives else math.nan


def _multi_label_verdict(rates: LabelRates, evidence: dict, gain: float) -> str:
    rare, labels = int(evidence["rare_labels"]), int(evidence["labels"])
    hits, positives = int(evidence["run_rare_positives_recalled"]), int(
        evidence["run_rare_positives"])
    text = (
        f"{rare} of your {labels} labels are positive in at most {RARE_LABEL_SHARE:.0%} of "
        f"your training rows (on average {evidence['rare_positive_rate_mean']:.1%}), and your "
        f"trained model says yes (a probability of {YES} or more) to {hits} of their "
        f"{positives} positives: it has learned to answer no to every rare label, which a "
        f"loss averaged over all labels barely punishes. A replay of your training with each "
        f"label's positives weighted by its negatives / positives (pos_weight) recalls "
        f"{_percent(evidence['rare_recall_after'])} of the rare labels' validation positives "
        f"against {_percent(evidence['rare_recall_before'])} without (mean F1 "
        f"{evidence['rare_macro_f1_before']:.2f} -> {evidence['rare_macro_f1_after']:.2f}; "
        f"validation loss {plain_number(evidence['validation_loss_before'])} -> "
        f"{plain_number(evidence['validation_loss_after'])}, which weighting raises)")
    if gain >= MEANINGFUL_GAIN:
        return text + "."
    return text + (f", too little to show the fix at work in {REPLAY_STEPS} steps; the "
                   "imbalance is read from the labels and your model's answers.")


def _percent(value: float) -> str:
    return "none" if math.isnan(value) else f"{value:.0%}"


def _multi_label_fix(rates: LabelRates) -> str:
    weights = rates.pos_weight
    return (
        "Weight each label's positives by its negatives / positives: BCEWithLogitsLoss("
        f"pos_weight=pos_weight) with pos_weight = (rows - positives) / positives per label "
        f"(yours run from {float(weights.min()):.3g} to {float(weights.max()):.3g}); judge "
        "the result by each label's recall and F1, not by the plain loss, which weighting "
        "raises. Labels with almost no positives may need more data or to be dropped.")
