"""no_signal: can anything predict the validation labels better than a constant guess?

Off-the-shelf learners (a regularized linear model and gradient-boosted trees) are fit on the
captured training rows and scored on the validation rows against the best constant guess: the
training class frequencies (log loss) or the training mean (squared error). Each learner's
per-row gain over the constant is tested one-sided (is its mean above zero?) with a t-test, and
the smallest p-value is Bonferroni-corrected for the number of learners. The user's own model
counts too: a validation loss clearly below the constant's means the labels carry signal.
Images and sequences also get position-free columns (random convolutional kernels, pooled over
positions: see :mod:`._random_kernels`), so "a shape anywhere in the picture" is learnable too.
When nothing wins on validation, the same contest cross-validated inside the training rows tells
labels that carry no signal apart from validation labels that do not belong to their inputs.
Token sequences labelled position by position (a language model's next tokens) get their own
learners, counts of the last few tokens against the label frequencies: see
:mod:`._per_position`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.loss_terms import summed_run
from lossdoctor.capture.train_split import category_ids
from lossdoctor.checks import _per_position, _sequence_pairs
from lossdoctor.checks._contest import (
    ALPHA,
    Contest,
    clearly_below,
    gains_less_on_validation,
    learner_tables,
    predicts_validation,
    training_contest,
    user_validation,
    validation_alone_carries_label,
    validation_contest,
    words,
)
from lossdoctor.checks._inputs import inputs_without_target
from lossdoctor.checks._pass_noise import beats_constant_steadily
from lossdoctor.checks._tabular import task_of
from lossdoctor.findings import Cause, Finding, Skip
from lossdoctor.losses import CLASSIFICATION

NO_SIGNAL = Cause(
    id="no_signal",
    title="The labels cannot be predicted from the inputs",
    fix=(
        "Check that each input is paired with its own label (shuffling, joins, file order) and "
        "that the inputs hold information about the label; no model or tuning can learn noise."
    ),
    question="Can anything predict these labels from these inputs?",
    test=(
        "scikit-learn learners against the best constant prediction on your validation rows, with "
        "a significance test; cross-validation inside the training rows tells misaligned "
        "validation labels apart"
    ),
    explains={"lr_too_low", "overfitting", "underfit_capacity"},
    precedence=1,
)

CAUSES = (NO_SIGNAL,)



#: Below this many validation rows, "nothing beats the constant" rules out only strong signals.
FEW_ROWS = 30
#: Fewer training rows than this, of some class (or in all, for regression), are too few for the
#: learners to show a signal: gradient-boosted trees keep at least 20 rows in a leaf (sklearn's
#: min_samples_leaf), so they need two leaves' worth to split at all, and on dev the linear
#: learner's cross-validated strength then shrinks it to the constant. Dev (seeds 313000-313061):
#: debug_subset_left_in on 31 and 38 training rows, and rare_classes whose rare class had 21 and
#: 22 training rows, gave every learner the constant guess's loss (p = 1) although the fixed
#: twins learn; no_signal's own operators keep hundreds of rows of every class.
LEARNABLE_ROWS = 40
#: A class short of LEARNABLE_ROWS counts only when it is rare, below this share of what a
#: balanced split gives it (training rows / classes), not short by sampling alone: in the
#: article's random-label scripts (100 rows of 0/1 labels drawn at random) a class count has
#: a standard deviation of 5, so 25 rows is 5 of them below its share of 50, while one class in
#: 30 runs falls below 40 rows by chance (and was then told "too few rows", not "no signal").
#: Dev rare_classes keep 3-7% of the other classes: 0.03-0.2 of their balanced share.
RARE_SHARE_OF_BALANCED = 0.5


def check(case) -> list[Finding]:
    task = task_of(case.trace.setup.loss_name)
    if task is None:
        raise Skip("needs a classification or regression loss (cross-entropy, BCE, MSE, L1, ...)")
    if summed_run(case.trace.setup):
        raise Skip("needs one loss on one target: yours adds several losses up, each on its "
                   "own target, and no learner's guess of one of them is your loss")
    if case.copies.in_batch_target:
        raise Skip("needs labels: your loss's targets are each row's place in its batch (an "
                   "in-batch loss, scoring each row against the batch's others), which no "
                   "input predicts")
    if _category_ids_only(case.replayer.train_batches):
        raise Skip("needs inputs with features: yours are category ids (users, items) that the "
                   "model looks up, and learners that read an id as a number cannot see a "
                   "signal in their combination (a user's taste for an item)")
    if task == CLASSIFICATION and _per_position.per_position_labels(case.replayer.train_batches):
        return _per_position_check(case, PER_POSITION)
    ignored = _ignored_label(case)
    if task == CLASSIFICATION and _sequence_pairs.source_target_pairs(
            case.replayer.train_batches, ignored):
        return _per_position_check(case, _source_target_reader(ignored))
    on_validation = validation_contest(case, task)
    if on_validation.p_value < ALPHA:
        return []
    _, validation = learner_tables(case, task)
    user = user_validation(case)
    if user is not None and (clearly_below(*user, validation.rows)
                             or _beats_steadily(case, user)):
        return []
    in_training = training_contest(case, task)
    if predicts_validation(on_validation, in_training):
        return []
    if not in_training.predicts and validation_alone_carries_label(case, task):
        return []  # the inputs hold the label where the training ones lost it: data_pipeline
    train, _ = learner_tables(case, task)
    return _findings(on_validation, in_training, user, task, fewest=_fewest_rows(train, task))


def _beats_steadily(case, user: tuple[float, float]) -> bool:
    """The user's own model beats the constant guess at most passes by far more than its
    pass-to-pass noise (checks/_pass_noise.py): the labels depend on the inputs, whatever the
    learners here can see of them (fresh24 s11: the tokens that carry signal depend on image
    features no count of label n-grams reads; 2.89-3.22 under a guess of 3.40 at every pass
    from epoch 3, and the rows' standard error called that chance)."""
    passes = [p.loss for p in case.trace.validation_passes() if math.isfinite(p.loss)]
    return beats_constant_steadily(passes, user[1])


def _fewest_rows(train, task: str) -> tuple[int, int | None]:
    """(the training rows of the rarest class, that class) for classification when that class
    is rare (RARE_SHARE_OF_BALANCED) or the whole set is small; else (every training row, None),
    as for regression."""
    if task != CLASSIFICATION:
        return train.rows, None
    classes, counts = np.unique(train.target, return_counts=True)
    balanced_share = train.rows / len(classes)
    if train.rows >= LEARNABLE_ROWS and counts.min() >= RARE_SHARE_OF_BALANCED * balanced_share:
        return train.rows, None
    return int(counts.min()), int(classes[counts.argmin()])


def _category_ids_only(batches) -> bool:
    """Whether every input of the first captured batch is one integer per row: category ids
    (a user, an item) the model looks up in embedding tables, as a recommender's are. The
    learners read an id as a number on a line, so their failing to beat the constant says
    nothing about labels carried by a combination of ids (a rating from a user's and an
    item's factors). Token sequences (several ids per row) keep their own learners."""
    inputs = [tensor for _, tensor in inputs_without_target(batches[0])] if batches else []
    return bool(inputs) and all(category_ids(tensor) for tensor in inputs)


class PositionReader:
    """How labels per position are read and judged: token sequences labelled position by
    position (_per_position), or target sequences paired with sources (_sequence_pairs)."""

    def __init__(self, read, module, learners: str) -> None:
        self.read, self.module, self.learners = read, module, learners

    def contest(self, train, held):
        return self.module.contest(train, held)

    def constant_loss(self, train, held) -> float:
        return self.module.constant_loss(train, held)

    def cross_validated_contest(self, train):
        return self.module.cross_validated_contest(train)


PER_POSITION = PositionReader(
    _per_position.positions, _per_position,
    "Counts of which label follows the last one to three tokens, over {rows} training "
    "positions,")


def _source_target_reader(ignored: int | None) -> PositionReader:
    return PositionReader(
        functools.partial(_sequence_pairs.pairs, ignored=ignored), _sequence_pairs,
        "A table of the target tokens each source token brings, wherever they stand (IBM "
        "Model 1), over {rows} training positions,")


def _ignored_label(case) -> int | None:
    """The class the training loss ignores (``ignore_index``: padding), if it says one."""
    loss_fn = case.copies.loss_fn
    value = getattr(loss_fn, "ignore_index", None)
    if value is None and isinstance(loss_fn, functools.partial):
        value = loss_fn.keywords.get("ignore_index")
    program = case.copies.loss_replay
    if value is None and isinstance(program, LossProgram):
        value = program.calls[program.result.call].kwargs.get("ignore_index")
    return value if isinstance(value, int) else None


def _per_position_check(case, reader: PositionReader) -> list[Finding]:
    """The same judgement for labels per position, with counts as the learners."""
    replayer = case.replayer
    if not replayer.validation_batches:
        raise Skip("needs validation batches, or at least 5 training batches to hold out")
    train = reader.read(replayer.train_batches)
    validation = reader.read(replayer.validation_batches)
    on_validation = reader.contest(train, validation)
    if on_validation.p_value < ALPHA:
        return []
    user = user_validation(case)
    if user is not None:  # against the best guess without the tokens, position by position
        user = (user[0], min(user[1], reader.constant_loss(train, validation)))
    if user is not None and (clearly_below(*user, on_validation.rows)
                             or _beats_steadily(case, user)):
        return []
    in_training = reader.cross_validated_contest(train)
    return _findings(on_validation, in_training, user, CLASSIFICATION, per_position=reader)


# --- findings --------------------------------------------------------------------------------


def _findings(on_validation: Contest, in_training: Contest, user, task: str,
              per_position: PositionReader | None = None,
              fewest: tuple[int, int | None] | None = None) -> list[Finding]:
    evidence = _evidence(on_validation, in_training, user)
    if fewest is not None and fewest[0] < LEARNABLE_ROWS:
        return [_too_few_rows(on_validation, evidence, task, *fewest)]
    if not in_training.predicts:
        confidence = 0.9 if on_validation.rows >= FEW_ROWS else 0.6
        verdict = _no_signal_verdict(on_validation, user, task, per_position)
        return [Finding(NO_SIGNAL, confidence, verdict, evidence)]
    if gains_less_on_validation(on_validation, in_training):
        return [_misaligned(on_validation, in_training, evidence, task)]
    return [_inconclusive(on_validation, evidence, task)]


def _evidence(on_validation: Contest, in_training: Contest, user) -> dict[str, float]:
    evidence = {
        "constant_validation_loss": on_validation.constant_loss,
        "best_learner_validation_loss": on_validation.best_loss,
        "p_value": on_validation.p_value,
        "rank_p_value": on_validation.rank_p_value,
        "alpha": ALPHA,
        "training_rows": on_validation.training_rows,
        "validation_rows": on_validation.rows,
        "cross_validated_constant_loss": in_training.constant_loss,
        "cross_validated_best_learner_loss": in_training.best_loss,
        "cross_validated_p_value": in_training.p_value,
        "cross_validated_rank_p_value": in_training.rank_p_value,
    }
    if user is not None:
        evidence["user_validation_loss"], evidence["constant_loss_in_user_units"] = user
    return evidence


def _no_signal_verdict(on_validation: Contest, user, task: str,
                       per_position: PositionReader | None) -> str:
    metric, guess = words(task)
    if per_position is not None:
        guess += " at each position"
    learners = (
        per_position.learners.format(rows=on_validation.training_rows)
        if per_position is not None else
        f"A linear model and gradient-boosted trees fit on {on_validation.training_rows} "
        "training rows"
    )
    verdict = (
        f"Nothing predicts your validation labels better than {guess} ({metric} "
        f"{on_validation.constant_loss:.3g}): the labels look independent of the inputs, so no "
        f"model, learning rate or normalization will bring the validation loss below that (a "
        f"fix for another cause may lower it toward that level, no further). {learners} "
        f"did no better{_within_chance(on_validation, metric)}"
    )
    if user is not None:
        verdict += f", and your own model's best validation loss {_against_guess(*user)}"
    return verdict + "."


def _within_chance(contest: Contest, metric: str) -> str:
    """The learners' best in numbers; one below the guess is set beside it and called chance
    (example_1_capacity: "did no better (best log loss 0.696" under a guess of 0.702 read as
    better)."""
    best, constant, p = contest.best_loss, contest.constant_loss, contest.p_value
    if best >= constant or f"{best:.3g}" == f"{constant:.3g}":
        # the p-value said in words: a bare 'p = 1' read as jargon (s13-report2)
        return (f" (best {metric} {best:.3g}: no gain over the constant guess beyond chance, "
                f"p = {p:.2g})")
    return (f" beyond chance (best {metric} {best:.3g} against {constant:.3g}: a gap chance "
            f"alone gives, p = {p:.2g})")


def _against_guess(best: float, guess: float) -> str:
    """no_signal_cnn_random_labels: "was 1.38 against 1.38 for the constant guess"."""
    if f"{best:.3g}" == f"{guess:.3g}":
        return f"was that of the constant guess ({guess:.3g})"
    if best < guess:  # reported only when not clearly below it (_contest.clearly_below)
        return (f"was {best:.3g}, within chance of the constant guess's {guess:.3g} (the best "
                f"of several validation passes dips below it by luck alone)")
    return f"was {best:.3g} against {guess:.3g} for the constant guess"


#: The heading when the labels are predictable inside the training data but not on validation:
#: "The labels cannot be predicted from the inputs" contradicted the verdict under it.
MISALIGNED_TITLE = "The validation labels do not match their inputs"


def _misaligned(on_validation: Contest, in_training: Contest, evidence, task: str) -> Finding:
    metric, guess = words(task)
    verdict = (
        f"Inside your training data the labels can be predicted ({in_training.best_learner}, "
        f"cross-validated: {metric} {in_training.best_loss:.3g} against "
        f"{in_training.constant_loss:.3g} for {guess}), but on your validation data nothing "
        f"beats that constant guess ({metric} {on_validation.constant_loss:.3g}): the "
        "validation labels look misaligned with their inputs, so the validation loss cannot "
        "fall however well the model trains."
    )
    fix = (
        "Check how the validation inputs and labels are paired: shuffling one without the other, "
        "a join on the wrong key, sorting one side, or labels from another version of the data."
    )
    return Finding(NO_SIGNAL, 0.85, verdict, evidence, fix=fix, title=MISALIGNED_TITLE)


def _too_few_rows(on_validation: Contest, evidence, task: str, rows: int,
                  label: int | None) -> Finding:
    """Nothing beat the constant, but the learners had too few rows (of a class) to show
    anything: a smaller cause (a training set cut short, a class too rare to learn) explains
    it as well, so the finding is kept as dismissed."""
    metric, guess = words(task)
    which = f"of class {label}" if label is not None else "in all"
    evidence.update(fewest_training_rows=float(rows), learnable_rows=float(LEARNABLE_ROWS))
    verdict = (
        f"Nothing beat {guess} on your validation data ({metric} "
        f"{on_validation.constant_loss:.3g}), but the learners had only {rows} training rows "
        f"{which}, too few to learn from (at least {LEARNABLE_ROWS}): this does not show the "
        "labels are unpredictable, only that too few rows were there to learn them from."
    )
    return Finding(NO_SIGNAL, 0.3, verdict, evidence)


def _inconclusive(on_validation: Contest, evidence, task: str) -> Finding:
    metric, guess = words(task)
    verdict = (
        f"Nothing beat {guess} on your validation data ({metric} "
        f"{on_validation.constant_loss:.3g}), but inside the training data the labels can be "
        f"predicted: {on_validation.rows} validation rows are too few to tell which holds."
    )
    return Finding(NO_SIGNAL, 0.3, verdict, evidence)
