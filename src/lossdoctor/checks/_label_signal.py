"""Can anything predict these labels from these inputs? no_signal's decision, in one place.

no_signal reports what this reads; dead_relu (units killed while nothing could be learned) and
data_pipeline (labels that ignore the groups their inputs fall into, :mod:`._ignored_groups`)
ask the same question, and read the same answer: one decision, computed once per case
(``Case.shared``), so that one of them cannot call the labels unpredictable where no_signal
finds something predicts them (or the reverse).

The learners' contest (:mod:`._contest`) on the validation rows and inside the training rows,
the user's own model against the constant guess (clearly below it, or steadily below it at
most passes), and for token sequences labelled position by position (:mod:`._per_position`)
or target sequences paired with sources (:mod:`._sequence_pairs`) their own learners. The
reading ends in one OUTCOMES value.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from lossdoctor.capture.loss_program import LossProgram
from lossdoctor.capture.loss_terms import summed_run
from lossdoctor.capture.train_split import category_ids
from lossdoctor.checks import _label_sequences, _per_position, _sequence_pairs
from lossdoctor.checks._contest import (
    ALPHA,
    MAX_TRAINING_ROWS,
    RANK_ALPHA,
    Contest,
    at_most,
    clearly_below,
    contest,
    cross_validated_contest,
    distinct_copies,
    gains_less_on_validation,
    learner_tables,
    passes_over_data,
    position_free_columns,
    predicts_validation,
    require_enough,
    single_threaded,
    training_contest,
    user_validation,
    validation_alone_carries_label,
    validation_contest,
    with_columns,
)
from lossdoctor.checks._fix import MEANINGFUL_SHARE_OF_CONSTANT_GUESS
from lossdoctor.checks._inputs import inputs_without_target
from lossdoctor.checks._looked_up import looked_up_inputs
from lossdoctor.checks._pass_noise import beats_constant_steadily
from lossdoctor.checks._tabular import Table, tables, task_of
from lossdoctor.findings import Skip
from lossdoctor.losses import CLASSIFICATION

#: Something predicts the labels: a learner on validation, the user's model, or (validation
#: inputs that carry the label where the training ones lost it) data_pipeline's fault 4.
PREDICTED = "predicted"
#: Nothing predicts them, in the validation rows nor inside the training rows.
UNPREDICTABLE = "unpredictable"
#: Nothing beat the constant, but some class (or the whole set) had too few training rows.
TOO_FEW_ROWS = "too few rows"
#: The labels are predictable inside the training rows and not on validation, by less.
MISALIGNED = "misaligned"
#: Nothing beat the constant on a split too small for the learners (every class short of
#: LEARNABLE_ROWS: the split is the data there is), and the run's own curves say the same: its
#: training loss fell well below the constant guess while its validation loss never got below
#: it (:func:`_learned_only_training`). Only no_signal says it: the readers that build findings
#: of their own on "unpredictable" (dead_relu's units killed with nothing to learn,
#: data_pipeline's ignored groups and stream axis) keep asking for the learners' answer.
UNPREDICTABLE_SMALL_SPLIT = "unpredictable on a small split"
#: Nothing beat the constant on validation, but something did inside the training rows.
INCONCLUSIVE = "inconclusive"
OUTCOMES = (PREDICTED, UNPREDICTABLE, TOO_FEW_ROWS, MISALIGNED, INCONCLUSIVE,
            UNPREDICTABLE_SMALL_SPLIT)

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
#: Dev rare_classes keep 3-7% of the other classes: 0.03-0.2 of their balanced share. That
#: sampling allowance holds only where a balanced split reaches LEARNABLE_ROWS a class: below
#: it (dev tiny_train_set 398102: 71 rows of 3 classes, about 24 a class) every class is
#: short, and the learners' failing to beat the constant (p = 0.89, while their class
#: probabilities still ordered the validation rows by label, p = 1e-15) was called no_signal
#: over the overfitting the run shows (docs/devset.md, session 30).
RARE_SHARE_OF_BALANCED = 0.5


class PositionReader:
    """How labels per position are read and judged: token sequences labelled position by
    position (_per_position), or target sequences paired with sources (_sequence_pairs)."""

    def __init__(self, read, module, learners: str, label: int | None = None) -> None:
        self.read, self.module, self.learners = read, module, learners
        self.label = label  # the label whose presence in each row's label sequence was asked

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


def source_target_reader(ignored: int | None) -> PositionReader:
    return PositionReader(
        functools.partial(_sequence_pairs.pairs, ignored=ignored), _sequence_pairs,
        "A table of the target tokens each source token brings, wherever they stand (IBM "
        "Model 1), over {rows} training positions,")


@dataclass
class SignalReading:
    """What the decision read: its outcome, and the contests and numbers behind it."""

    outcome: str  # one of OUTCOMES
    task: str
    on_validation: Contest
    in_training: Contest | None = None  # None when decided before it was needed
    user: tuple[float, float] | None = None  # (the user's best validation loss, the guess's)
    per_position: PositionReader | None = None  # the learners of labels per position
    fewest: tuple[int, int | None] | None = None  # (rows of the rarest class, that class)

    @property
    def unpredictable(self) -> bool:
        """Nothing predicts the labels, in either split, the user's model included."""
        return self.outcome == UNPREDICTABLE


def label_signal(case) -> SignalReading:
    """no_signal's reading of the run's labels, once per case; Skip when it cannot be read."""
    return case.shared("signal.reading", lambda: _read(case))


def labels_unpredictable(case) -> bool:
    """Whether no_signal's reading is that nothing predicts the labels (False when it cannot
    be read)."""
    try:
        return label_signal(case).unpredictable
    except Skip:
        return False


def _read(case) -> SignalReading:
    if _label_sequences.label_sequence_loss(case.trace.setup.loss_name):
        return _label_sequence_reading(case)
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
        return _per_position_reading(case, PER_POSITION)
    ignored = _ignored_label(case)
    if task == CLASSIFICATION and _sequence_pairs.source_target_pairs(
            case.replayer.train_batches, ignored):
        return _per_position_reading(case, source_target_reader(ignored))
    return _tabular_reading(case, task)


def _tabular_reading(case, task: str) -> SignalReading:
    on_validation = validation_contest(case, task)
    if on_validation.p_value < ALPHA:
        return SignalReading(PREDICTED, task, on_validation)
    _, validation = learner_tables(case, task)
    user = user_validation(case)
    if user is not None and (clearly_below(*user, validation.rows)
                             or _beats_steadily(case, user)):
        return SignalReading(PREDICTED, task, on_validation, user=user)
    in_training = training_contest(case, task)
    if predicts_validation(on_validation, in_training) or (
            # the inputs hold the label where the training ones lost it: data_pipeline's
            not in_training.predicts and validation_alone_carries_label(case, task)):
        return SignalReading(PREDICTED, task, on_validation, in_training, user)
    train, _ = learner_tables(case, task)
    fewest = _fewest_rows(train, task)
    outcome = _outcome(on_validation, in_training, fewest)
    if outcome == TOO_FEW_ROWS and _small_split(train, task) and not in_training.predicts and (
            on_validation.rank_p_value >= RANK_ALPHA and _learned_only_training(case, user)):
        outcome = UNPREDICTABLE_SMALL_SPLIT
    return SignalReading(outcome, task, on_validation, in_training, user, fewest=fewest)


def _per_position_reading(case, reader: PositionReader) -> SignalReading:
    """The same reading for labels per position, with counts as the learners."""
    replayer = case.replayer
    if not replayer.validation_batches:
        raise Skip("needs validation batches, or at least 5 training batches to hold out")
    train = reader.read(replayer.train_batches)
    validation = reader.read(replayer.validation_batches)
    on_validation = reader.contest(train, validation)
    if on_validation.p_value < ALPHA:
        return SignalReading(PREDICTED, CLASSIFICATION, on_validation, per_position=reader)
    user = user_validation(case)
    if user is not None:  # against the best guess without the tokens, position by position
        user = (user[0], min(user[1], reader.constant_loss(train, validation)))
    if user is not None and (clearly_below(*user, on_validation.rows)
                             or _beats_steadily(case, user)):
        return SignalReading(PREDICTED, CLASSIFICATION, on_validation, user=user,
                             per_position=reader)
    in_training = reader.cross_validated_contest(train)
    return SignalReading(_outcome(on_validation, in_training, None), CLASSIFICATION,
                         on_validation, in_training, user, per_position=reader)


def label_presence_reader(label: int) -> PositionReader:
    """How a reading of label sequences reduced to one label's presence is told."""
    return PositionReader(None, _label_sequences,
                          "A linear model and gradient-boosted trees fit on {rows} training "
                          "rows", label=label)


def _label_sequence_reading(case) -> SignalReading:
    """The reading for label sequences (CTC): the learners asked whether each row's sequence
    holds a label (:mod:`._label_sequences`), for a few labels, the one best predicted on
    validation (its p-value corrected for the labels asked) asked inside the training rows too.
    The user's model is not set beside a guess: such a loss has none in closed form."""
    replayer = case.replayer
    if not replayer.validation_batches:
        raise Skip("needs validation batches, or at least 5 training batches to hold out")
    blank = case.trace.setup.loss_kwargs.get("blank", _label_sequences.DEFAULT_BLANK)
    labels = _label_sequences.asked_labels(replayer.train_batches, blank)
    columns = [position_free_columns(case, batches)
               for batches in (replayer.train_batches, replayer.validation_batches)]
    with single_threaded():
        label, train, on_validation = _best_asked(case, labels, blank, columns)
        reader = label_presence_reader(label)
        if on_validation.p_value < ALPHA:
            return SignalReading(PREDICTED, CLASSIFICATION, on_validation, per_position=reader)
        in_training = cross_validated_contest(train, CLASSIFICATION)
    if predicts_validation(on_validation, in_training):
        return SignalReading(PREDICTED, CLASSIFICATION, on_validation, in_training,
                             per_position=reader)
    fewest = _fewest_rows(train, CLASSIFICATION)
    return SignalReading(_outcome(on_validation, in_training, fewest), CLASSIFICATION,
                         on_validation, in_training, per_position=reader, fewest=fewest)


def _best_asked(case, labels: list[int], blank: int, columns) -> tuple[int, Table, Contest]:
    """The label whose presence the learners predict best on validation, its training table
    and its contest, its p-values Bonferroni-corrected for the labels asked. Every label is
    asked: the first that passes is not the best (ctchard 423004's twin: p = 0.013 for the
    label closest to half the rows, 2.7e-9 for the third)."""
    best = None
    for label in labels:
        train, validation = _presence_tables(case, label, blank, columns)
        asked = contest(train, validation, CLASSIFICATION)
        asked.p_value = min(1.0, asked.p_value * len(labels))
        asked.rank_p_value = min(1.0, asked.rank_p_value * len(labels))
        if best is None or asked.p_value < best[2].p_value:
            best = (label, train, asked)
    return best


def _presence_tables(case, label: int, blank: int, columns) -> tuple[Table, Table]:
    """Training and validation tables whose target is ``label``'s presence in each row's
    sequence, with the inputs' position-free ``columns`` (training, validation) beside their
    own."""
    replayer = case.replayer
    train, validation = (_label_sequences.presence_batches(batches, label, blank)
                         for batches in (replayer.train_batches, replayer.validation_batches))
    train_table, validation_table = tables(train, validation, CLASSIFICATION,
                                           looked_up=looked_up_inputs(case))
    train_table = distinct_copies(with_columns(train_table, columns[0]),
                                  passes=passes_over_data(case))
    require_enough(train_table, CLASSIFICATION)
    return (at_most(train_table, MAX_TRAINING_ROWS),
            with_columns(validation_table, columns[1]))


def _outcome(on_validation: Contest, in_training: Contest,
             fewest: tuple[int, int | None] | None) -> str:
    """What nothing beating the constant on validation means, given the training contest."""
    if fewest is not None and fewest[0] < LEARNABLE_ROWS:
        return TOO_FEW_ROWS
    if not in_training.predicts:
        return UNPREDICTABLE
    if gains_less_on_validation(on_validation, in_training):
        return MISALIGNED
    return INCONCLUSIVE


def _small_split(train, task: str) -> bool:
    """Even a balanced split of these training rows gives each class (the whole set, for
    regression) fewer than LEARNABLE_ROWS: the learners cannot be given more, as the run
    cannot (bench/projects8's pygcn: 140 labelled nodes of 5 classes, the semi-supervised
    setting GCN was written for), where a rare class is a share a fix can change."""
    if task != CLASSIFICATION:
        return train.rows < LEARNABLE_ROWS
    return train.rows / len(np.unique(train.target)) < LEARNABLE_ROWS


#: The run's settled training loss (its last RUN_SETTLED_SHARE of steps) must lie at least this
#: share of the training constant guess below it: the model learned its training rows, so
#: what it learned had its chance to carry over to validation. On the session-35 dev cases
#: (bench/small_split_dev.py, seeds 433950-433951: 20-30 training rows a class, labels shuffled
#: or drawn at random) the runs' settled training losses lay 0.35-0.62 of the guess below it,
#: their best validation losses 0.6-1.4% below the guess at most; a run that did not fit (lr
#: 1e-6, tests/test_no_signal.py) lies 0.00 below. A fifth: well under the least fitted, and a
#: fall no run that learned nothing shows.
TRAINING_FALL_SHARE = 0.2
#: The share of the run's steps whose mean training loss is where it settled (as
#: train_val_shift.SETTLED_SHARE reads a replay's).
RUN_SETTLED_SHARE = 0.3


def _learned_only_training(case, user: tuple[float, float] | None) -> bool:
    """The run's own curves: its training loss fell TRAINING_FALL_SHARE of the constant guess
    below it, while its best validation loss never got MEANINGFUL_SHARE_OF_CONSTANT_GUESS of
    the guess below it. Learners starved of rows say little; a model that fitted its training
    rows and carried none of it to validation says the labels hold nothing it could carry."""
    guess = case.constant_guess_loss("training")
    losses = [v for _, v in case.trace.step_losses() if math.isfinite(v)]
    if user is None or guess is None or not losses or not guess > 0:
        return False
    settled = losses[-max(1, round(RUN_SETTLED_SHARE * len(losses))):]
    fell = sum(settled) / len(settled) <= guess * (1 - TRAINING_FALL_SHARE)
    best, validation_guess = user
    return fell and best >= validation_guess * (1 - MEANINGFUL_SHARE_OF_CONSTANT_GUESS)


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
    is rare (RARE_SHARE_OF_BALANCED) or even a balanced split of the set would give each class
    fewer than LEARNABLE_ROWS; else (every training row, None), as for regression."""
    if task != CLASSIFICATION:
        return train.rows, None
    classes, counts = np.unique(train.target, return_counts=True)
    balanced_share = train.rows / len(classes)
    if (balanced_share >= LEARNABLE_ROWS
            and counts.min() >= RARE_SHARE_OF_BALANCED * balanced_share):
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
