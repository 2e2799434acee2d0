"""The learners' contest: can off-the-shelf learners predict the labels better than a constant?

A regularized linear model and gradient-boosted trees are fit on the captured training rows and
scored against the best constant guess (the training class frequencies under log loss, or the
training mean under squared error), per row. Each learner's per-row gain over the constant is
tested one-sided (is its mean above zero?) with a t-test, the smallest p-value
Bonferroni-corrected for the number of learners. Images and sequences also get position-free
columns (random convolutional kernels pooled over positions: see :mod:`._random_kernels`).

The contest on the validation rows and the same contest cross-validated inside the training
rows are fitted once per case (``Case.shared``) and read by every check that needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from lossdoctor.checks._features import feature_axis, first_inputs
from lossdoctor.checks._looked_up import looked_up_inputs
from lossdoctor.checks._random_kernels import random_kernel_features
from lossdoctor.checks._tabular import Table, finite, tables
from lossdoctor.checks._two_sample import shifted
from lossdoctor.findings import Skip
from lossdoctor.losses import CLASSIFICATION

#: Familywise level of the test "some learner beats the constant" (Bonferroni over learners).
#: Under labels independent of the inputs a learner fit on the training rows does no better than
#: the constant, and usually worse, so false "signal" (hiding a real no_signal) is rarer than
#: ALPHA: 2% (classification) and 4.5% (regression) of 200 simulated 100/50-row runs, validation
#: and in-training tests together. A smaller ALPHA would cost power on small, noisy but learnable
#: data, where a missed signal means a wrong no_signal.
ALPHA = 0.05

#: Level of the second question asked of the same predictions: do they *order* the rows by
#: their labels (a class's rows given that class's highest probabilities, one-sided
#: Mann-Whitney per class; larger targets given larger predictions, one-sided Spearman), beyond
#: chance, Bonferroni over learners x classes (or outputs)? A loss gain needs predictions good
#: enough to beat the constant on average, which few training rows (a learner fit on 31 rows
#: overshoots) or a rare class (its handful of rows weigh nothing in the mean log loss) do not
#: give, while a ranking shows whatever the learners did learn. Under labels independent of the
#: inputs the test's p-value is uniform, so this level is its false "signal" rate; it is kept
#: at a fifth of ALPHA so that the two questions together stay near ALPHA.
RANK_ALPHA = 0.01
#: Level for an ordering of the held-out training rows when nothing beat the constant (the
#: ordering alone stands for a signal there, and turns "no learner can predict these labels"
#: into "inconclusive"): a tenth of RANK_ALPHA, so that on labels independent of their inputs it
#: takes the answer away at most one time in a thousand. At RANK_ALPHA the bundled example whose
#: rows and labels were permuted apart (examples/no_signal_shuffled_labels.py: loss p = 1, rank
#: p = 0.007 inside training, 0.97 on validation) was left unexplained; dev rare_classes 313004,
#: the ordering this test is for, orders its held-out training rows at p = 5e-7.
ORDERING_ALONE_ALPHA = RANK_ALPHA / 10

#: Stricter level for "validation labels are misaligned": only tested once nothing won on
#: validation, which by itself selects runs whose validation gains came out low.
MISALIGNED_ALPHA = 0.01

#: The user's best validation loss must lie this many standard errors below the constant's.
#: Per-row losses spread about as wide as their mean, so a mean over n rows has a standard error
#: of about loss / sqrt(n); the best of many validation passes dips further by chance (down to
#: 0.74 x the constant in 150 runs of a model trained on random labels with 50 validation rows).
USER_STANDARD_ERRORS = 3.0

MIN_TRAINING_ROWS = 10
#: Learners fit on at most this many training rows (a seeded random subset), to stay fast.
MAX_TRAINING_ROWS = 2000
FOLDS = 3

#: Tables wider than this (images, sequences) get coarser, early-stopped trees: histogram
#: building grows with rows x columns, and on 400 columns full trees take tens of seconds.
#: Coarse bins and a stop once a held-out tenth stops improving keep them to a few.
WIDE_TABLE = 64
WIDE_TREES = {"max_bins": 32, "early_stopping": True, "n_iter_no_change": 5,
              "validation_fraction": 0.1}

#: Smallest probability a prediction is given when scoring log loss (as if clipped).
EPSILON = 1e-7

#: A learner's gain on a row smaller than this share of the constant's mean loss is rounding,
#: not a gain: float32 probabilities carry about 1e-7 of relative error, and a few operations
#: on them several times that. Left in, such gains have almost no spread, and a t-test finds
#: them "significant": a learner whose mean loss equals the constant's to 16 digits was read as
#: predicting 26 training rows (p 0.0008; bench/fresh17 s08, one batch of 32 rows repeated).
NEGLIGIBLE_GAIN = 1e-6


def learner_tables(case, task: str) -> tuple[Table, Table]:
    """The training and validation rows as the learners see them (shared by the checks)."""
    return case.shared("signal.tables", lambda: _learner_tables(case, task))


def validation_contest(case, task: str) -> Contest:
    """The learners, fit on the training rows, against the constant on the validation rows."""
    train, validation = learner_tables(case, task)
    return case.shared("signal.validation", lambda: _single_threaded(contest, train, validation,
                                                                      task))


def training_contest(case, task: str) -> Contest:
    """The same contest cross-validated inside the training rows."""
    train, _ = learner_tables(case, task)
    return case.shared("signal.training", lambda: _single_threaded(cross_validated_contest,
                                                                    train, task))


def inside_validation_contest(case, task: str) -> Contest:
    """The same contest cross-validated inside the validation rows: whether the inputs the
    validation gives the model carry the label at all, whatever the training rows do."""
    _, validation = learner_tables(case, task)
    return case.shared("signal.inside_validation",
                       lambda: _single_threaded(cross_validated_contest, validation, task))


def inputs_shifted(case, task: str) -> bool:
    """Whether the learners' training and validation rows come from different distributions
    (the classifier two-sample test of :mod:`._two_sample`), once per case."""
    train, validation = learner_tables(case, task)
    return case.shared("signal.inputs_shifted", lambda: _shifted(train, validation))


def _shifted(train: Table, validation: Table) -> bool:
    try:
        return shifted(train.features, validation.features)
    except Skip:
        return False


def validation_alone_carries_label(case, task: str) -> bool:
    """Validation rows predict other validation rows' labels, and the training inputs come from
    another distribution: what the training inputs lost, the validation ones keep
    (data_pipeline's fault 4), so the labels are not independent of their inputs."""
    _, validation = learner_tables(case, task)
    return (validation.rows >= MIN_TRAINING_ROWS  # rows to cross-validate on, as training's
            and inside_validation_contest(case, task).p_value < ALPHA
            and inputs_shifted(case, task))


def single_threaded() -> threadpool_limits:
    """A block where the learners fit on one thread: OpenMP threads on a busy machine make
    tiny fits 1000x slower."""
    return threadpool_limits(1)


def _single_threaded(function, *args):
    with single_threaded():
        return function(*args)


def _learner_tables(case, task: str) -> tuple[Table, Table]:
    replayer = case.replayer
    if not replayer.validation_batches:
        raise Skip("needs validation batches, or at least 5 training batches to hold out")
    train, validation = tables(replayer.train_batches, replayer.validation_batches, task,
                               looked_up=looked_up_inputs(case))
    train, validation = (
        _with_position_free_columns(case, table, batches)
        for table, batches in ((train, replayer.train_batches),
                               (validation, replayer.validation_batches))
    )
    train = distinct_copies(train, passes=passes_over_data(case))
    require_enough(train, task)
    return at_most(train, MAX_TRAINING_ROWS), validation


def passes_over_data(case) -> int:
    """How often the run can have shown an example: its epochs, counted from the loader's
    starts or, for a loop without a loader, from the epochs its steps fall in (a loop that
    slices its tensors has no loader starts, and its captured batches repeat as often). A
    batch whose target is its rows' sequences concatenated is kept again in each epoch (its
    fingerprint is the batch's, not the rows'): dev ctc 423001, 600 examples held as 1232
    rows, and the copies on both sides of a cross-validation fold predicted shuffled labels
    (p = 3e-51)."""
    return max(len(case.trace.epoch_starts), len(case.trace.epoch_train_losses()))


def distinct_copies(train: Table, passes: int) -> Table:
    """The training rows with each example kept once: the captured batches of several epochs
    hold the same examples again, and a copy on each side of a cross-validation fold (or of a
    learner's own inner one, choosing its regularization) is predicted from itself, not from
    the labels' signal (fresh20 s14: 2836 captured rows, 1585 talks, up to 3 copies; trees
    predicted held-out training rows at log loss 0.985 against 1.42, but not the validation
    rows). Rows are copies when inputs and label agree; kept only when no row repeats more
    often than the run's passes over its data could repeat it (else the inputs take few
    values, and their repeats are data, not copies)."""
    rows = np.hstack([train.features, train.target.reshape(train.rows, -1)])
    _, first, repeats = np.unique(rows, axis=0, return_index=True, return_counts=True)
    if repeats.max() == 1 or repeats.max() > passes:
        return train
    return train.subset(np.sort(first))


def _with_position_free_columns(case, table: Table, batches) -> Table:
    """The table with pooled random-kernel responses appended, for image or sequence inputs."""
    return with_columns(table, position_free_columns(case, batches))


def with_columns(table: Table, extra: np.ndarray | None) -> Table:
    """The table with ``extra`` columns appended, one row each; the table itself without."""
    if extra is None or len(extra) != table.rows:
        return table
    return Table(np.hstack([table.features, extra]), table.target)


def position_free_columns(case, batches) -> np.ndarray | None:
    """Pooled random-kernel responses of the batches' image or sequence inputs, one row per
    example in the batches' order; None for other inputs."""
    try:
        inputs = first_inputs(batches)
    except Skip:
        return None
    if inputs.dim() >= 3 and feature_axis(inputs, case.copies.initial_model) == -1:
        inputs = inputs.movedim(-1, 1)
    extra = random_kernel_features(inputs)
    return None if extra is None else finite(extra)


def require_enough(train: Table, task: str) -> None:
    if train.rows < MIN_TRAINING_ROWS:
        raise Skip(f"needs at least {MIN_TRAINING_ROWS} training rows paired with targets")
    if task == CLASSIFICATION and len(np.unique(train.target)) < 2:
        raise Skip("needs at least two classes among the training labels")


def at_most(table: Table, rows: int) -> Table:
    if table.rows <= rows:
        return table
    return table.subset(np.random.default_rng(0).choice(table.rows, rows, replace=False))


# --- the user's own model --------------------------------------------------------------------


def user_validation(case) -> tuple[float, float] | None:
    """(the run's best validation loss, the constant's loss in the same units), when known."""
    passes = [p.loss for p in case.trace.validation_passes() if math.isfinite(p.loss)]
    if not passes or not case.copies.validation.batches:
        return None
    constant = case.constant_guess_loss("validation")
    return (min(passes), constant) if constant is not None else None


def clearly_below(user_loss: float, constant_loss: float, rows: int) -> bool:
    margin = USER_STANDARD_ERRORS / math.sqrt(max(rows, 1))
    return user_loss < constant_loss * (1 - margin)


# --- learners against the constant ----------------------------------------------------------


@dataclass
class Contest:
    """Learners against the constant guess, scored on the same rows."""

    constant_loss: float
    learner_losses: dict[str, float]
    gains: dict[str, np.ndarray]  # per row: the constant's loss minus the learner's
    p_value: float  # the smallest one-sided p-value, Bonferroni-corrected
    training_rows: int
    rank_p_value: float = 1.0  # the predictions order the rows by label (RANK_ALPHA)

    @property
    def predicts(self) -> bool:
        """Some learner predicts the labels beyond chance: its loss beats the constant's, or
        its predictions order the rows by their labels (valid as it stands inside the training
        rows, whose labels are exchangeable when they carry no signal; on validation rows see
        predicts_validation)."""
        return self.p_value < ALPHA or self.rank_p_value < ORDERING_ALONE_ALPHA

    @property
    def rows(self) -> int:
        return len(next(iter(self.gains.values())))

    @property
    def best_learner(self) -> str:
        return min(self.learner_losses, key=self.learner_losses.get)

    @property
    def best_loss(self) -> float:
        return self.learner_losses[self.best_learner]


def predicts_validation(on_validation: Contest, in_training: Contest) -> bool:
    """The learners fit on the training rows predict the validation labels: their loss beats
    the constant's, or their predictions order the validation rows by label *and* order
    held-out training rows too. An ordering of the validation rows alone is no evidence that
    the training labels carry it: learners fit on training labels shuffled against their
    inputs are a random function of the inputs, which orders validation rows whose labels do
    depend on their inputs by chance, by region (tests/test_data_pipeline, training labels
    shuffled alone: validation rank p = 3e-6, held-out training rows 0.71)."""
    if on_validation.p_value < ALPHA:
        return True
    return on_validation.rank_p_value < RANK_ALPHA and in_training.rank_p_value < RANK_ALPHA


def contest(train: Table, validation: Table, task: str) -> Contest:
    """Each learner, fit on the training rows, against the constant on the validation rows."""
    classes = _classes(task, train, validation)
    constant, learners, predictions = _per_row_losses(train, validation, task, classes)
    judged = judge(constant, learners, train.rows)
    judged.rank_p_value = rank_p_value(predictions, validation.target, task, classes)
    return judged


def cross_validated_contest(train: Table, task: str) -> Contest:
    """The same contest inside the training rows: each row is scored by fits made without it."""
    from sklearn.model_selection import KFold

    classes = _classes(task, train, train)
    constant, learners, predictions = np.empty(train.rows), {}, {}
    for fit_rows, held_rows in KFold(FOLDS, shuffle=True, random_state=0).split(train.features):
        held = train.subset(held_rows)
        constant[held_rows], fold, predicted = _per_row_losses(train.subset(fit_rows), held,
                                                               task, classes)
        for name, losses in fold.items():
            learners.setdefault(name, np.empty(train.rows))[held_rows] = losses
            predictions.setdefault(name, np.empty((train.rows, predicted[name].shape[1])))[
                held_rows] = predicted[name]
    judged = judge(constant, learners, train.rows)
    judged.rank_p_value = rank_p_value(predictions, train.target, task, classes)
    return judged


def judge(constant: np.ndarray, learners: dict[str, np.ndarray], training_rows: int) -> Contest:
    rounding = NEGLIGIBLE_GAIN * max(float(np.abs(constant).mean()), EPSILON)
    gains = {name: _beyond_rounding(constant - losses, rounding)
             for name, losses in learners.items()}
    p_value = min(_one_sided_p_value(g) for g in gains.values()) * len(gains)
    means = {name: float(losses.mean()) for name, losses in learners.items()}
    return Contest(float(constant.mean()), means, gains, min(p_value, 1.0), training_rows)


def _beyond_rounding(gains: np.ndarray, rounding: float) -> np.ndarray:
    return np.where(np.abs(gains) <= rounding, 0.0, gains)


def _one_sided_p_value(gains: np.ndarray) -> float:
    """P-value of "the mean gain is above zero" (one-sample t-test)."""
    if np.ptp(gains) == 0:
        return 0.0 if gains[0] > 0 else 1.0
    return float(stats.ttest_1samp(gains, 0.0, alternative="greater").pvalue)


def _per_row_losses(train: Table, held: Table, task: str,
                    classes) -> tuple[np.ndarray, dict, dict]:
    """Per-row losses on the held rows of the constant guess and of each learner, and each
    learner's predictions (class probabilities, or values)."""
    constant = _constant_prediction(train, held.rows, task, classes)
    predictions = {name: _fit_predict(learner, train, held, task, classes)
                   for name, learner in _learners(task, train).items()}
    learners = {name: _row_losses(predicted, held, task, classes)
                for name, predicted in predictions.items()}
    return _row_losses(constant, held, task, classes), learners, predictions


def rank_p_value(predictions: dict[str, np.ndarray], target: np.ndarray, task: str,
                 classes) -> float:
    """The smallest one-sided p-value, Bonferroni-corrected over learners and classes (or
    outputs), of "the predictions order the rows by their labels": each class's rows get that
    class's higher probabilities (Mann-Whitney U, one class of two), or larger targets get
    larger predictions (Spearman)."""
    tests = [p for predicted in predictions.values()
             for p in _rank_tests(predicted, target, task, classes)]
    if not tests:
        return 1.0
    return min(min(tests) * len(tests), 1.0)


def _rank_tests(predicted: np.ndarray, target: np.ndarray, task: str, classes) -> list[float]:
    if task != CLASSIFICATION:
        return [_spearman_p(predicted[:, k], target[:, k]) for k in range(target.shape[1])]
    tested = classes[1:] if len(classes) == 2 else classes  # two classes: one ordering
    return [_mann_whitney_p(predicted[:, np.searchsorted(classes, c)], target == c)
            for c in tested]


def _mann_whitney_p(score: np.ndarray, is_class: np.ndarray) -> float:
    if is_class.all() or not is_class.any() or np.ptp(score) == 0:
        return 1.0
    return float(stats.mannwhitneyu(score[is_class], score[~is_class],
                                    alternative="greater").pvalue)


def _spearman_p(predicted: np.ndarray, target: np.ndarray) -> float:
    if np.ptp(predicted) == 0 or np.ptp(target) == 0 or len(target) < 3:
        return 1.0
    p_value = stats.spearmanr(predicted, target, alternative="greater").pvalue
    return float(p_value) if math.isfinite(p_value) else 1.0


def _learners(task: str, train: Table) -> dict:
    """Quick off-the-shelf learners: a regularized linear model and gradient-boosted trees."""
    from sklearn import ensemble, linear_model
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    trees_settings = WIDE_TREES if train.features.shape[1] > WIDE_TABLE else {}
    if task == CLASSIFICATION:
        linear = _logistic_regression(train)
        settings = {**trees_settings, **({} if _can_stop_early(train) else
                                          {"early_stopping": False})}
        trees = ensemble.HistGradientBoostingClassifier(max_iter=50, random_state=0, **settings)
        return {"logistic regression": make_pipeline(StandardScaler(), linear),
                "gradient-boosted trees": trees}
    linear = linear_model.RidgeCV(alphas=np.logspace(-2, 3, 6))
    trees = ensemble.HistGradientBoostingRegressor(max_iter=50, random_state=0, **trees_settings)
    if train.target.shape[1] > 1:  # boosting fits one output; a forest fits several at once
        trees = ensemble.RandomForestRegressor(50, min_samples_leaf=5, random_state=0)
    return {"ridge regression": make_pipeline(StandardScaler(), linear),
            "gradient-boosted trees": trees}


def _logistic_regression(train: Table):
    """Its strength chosen by stratified FOLDS-fold cross-validation, which needs a class with
    at least FOLDS rows; on fewer (a batch of 32 rows over 27 classes) it keeps the default."""
    from sklearn import linear_model

    if np.unique(train.target, return_counts=True)[1].max() < FOLDS:
        return linear_model.LogisticRegression(max_iter=1000)
    return linear_model.LogisticRegressionCV(
        Cs=np.logspace(-3, 2, 6), cv=FOLDS, scoring="neg_log_loss", l1_ratios=(0.0,),
        use_legacy_attributes=False, max_iter=1000,
    )


def _can_stop_early(train: Table) -> bool:
    """Whether boosting may stop early (on its own above 10,000 rows, and for wide tables):
    it holds out a stratified split, which no class of a single row can be in, and a dev table
    of rare classes made no_signal and data_pipeline fail with ValueError; each side of that
    split needs a row of every class, and 670 rows of 100 classes held out 67 (fresh24 s03:
    "The test_size = 67 should be greater or equal to the number of classes = 100"). Without
    it the 50 rounds all run."""
    counts = np.unique(train.target, return_counts=True)[1]
    held = math.ceil(WIDE_TREES["validation_fraction"] * train.rows)
    return bool(counts.min() >= 2 and min(held, train.rows - held) >= len(counts))


def _fit_predict(learner, train: Table, held: Table, task: str, classes) -> np.ndarray:
    if task != CLASSIFICATION:
        target = train.target.ravel() if train.target.shape[1] == 1 else train.target
        return learner.fit(train.features, target).predict(held.features).reshape(held.rows, -1)
    if len(np.unique(train.target)) < 2:
        return _constant_prediction(train, held.rows, task, classes)
    probabilities = learner.fit(train.features, train.target).predict_proba(held.features)
    spread = np.zeros((held.rows, len(classes)))
    spread[:, np.searchsorted(classes, learner.classes_)] = probabilities
    return spread


def _classes(task: str, train: Table, held: Table) -> np.ndarray | None:
    if task != CLASSIFICATION:
        return None
    return np.unique(np.concatenate([train.target, held.target]))


def _constant_prediction(train: Table, rows: int, task: str, classes) -> np.ndarray:
    """The best constant guess from the training rows: class frequencies, or the mean."""
    if task == CLASSIFICATION:
        guess = (train.target[:, None] == classes[None, :]).mean(axis=0)
    else:
        guess = train.target.mean(axis=0)
    return np.tile(guess, (rows, 1))


def _row_losses(prediction: np.ndarray, held: Table, task: str, classes) -> np.ndarray:
    """Log loss per row (classification) or squared error per row (mean over outputs)."""
    if task != CLASSIFICATION:
        return ((held.target - prediction) ** 2).mean(axis=1)
    chosen = prediction[np.arange(held.rows), np.searchsorted(classes, held.target)]
    return -np.log(np.clip(chosen, EPSILON, 1.0))


# --- validation labels that do not belong to their inputs -----------------------------------


def gains_less_on_validation(on_validation: Contest, in_training: Contest) -> bool:
    """Whether the best in-training learner gains nothing on the validation rows, and
    significantly less than inside training (at MISALIGNED_ALPHA): the mark of validation
    labels that do not belong to their inputs."""
    outside = on_validation.gains[in_training.best_learner]
    return bool(outside.mean() <= 0
                and misalignment_p_value(on_validation, in_training) < MISALIGNED_ALPHA)


def misalignment_p_value(on_validation: Contest, in_training: Contest) -> float:
    """One-sided Welch t-test: the best in-training learner gains more per row inside the
    training rows than on the validation rows."""
    learner = in_training.best_learner
    inside, outside = in_training.gains[learner], on_validation.gains[learner]
    return float(stats.ttest_ind(inside, outside, equal_var=False, alternative="greater").pvalue)


def words(task: str) -> tuple[str, str]:
    """The metric, and the constant guess, in words."""
    if task == CLASSIFICATION:
        return "log loss", "always guessing the training class frequencies"
    return "mean squared error", "always guessing the training average"
