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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from lossdoctor.checks._features import feature_axis, first_inputs
from lossdoctor.checks._random_kernels import random_kernel_features
from lossdoctor.checks._tabular import Table, tables, task_of
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


#: Familywise level of the test "some learner beats the constant" (Bonferroni over learners).
#: Under labels independent of the inputs a learner fit on the training rows does no better than
#: the constant, and usually worse, so false "signal" (hiding a real no_signal) is rarer than
#: ALPHA: 2% (classification) and 4.5% (regression) of 200 simulated 100/50-row runs, validation
#: and in-training tests together. A smaller ALPHA would cost power on small, noisy but learnable
#: data, where a missed signal means a wrong no_signal.
ALPHA = 0.05

#: Stricter level for "validation labels are misaligned": only tested once nothing won on
#: validation, which by itself selects runs whose validation gains came out low.
MISALIGNED_ALPHA = 0.01

#: The user's best validation loss must lie this many standard errors below the constant's.
#: Per-row losses spread about as wide as their mean, so a mean over n rows has a standard error
#: of about loss / sqrt(n); the best of many validation passes dips further by chance (down to
#: 0.74 x the constant in 150 runs of a model trained on random labels with 50 validation rows).
USER_STANDARD_ERRORS = 3.0

#: Below this many validation rows, "nothing beats the constant" rules out only strong signals.
FEW_ROWS = 30
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



def check(case) -> list[Finding]:
    task = task_of(case.trace.setup.loss_name)
    if task is None:
        raise Skip("needs a classification or regression loss (cross-entropy, BCE, MSE, L1, ...)")
    on_validation = validation_contest(case, task)
    if on_validation.p_value < ALPHA:
        return []
    train, validation = learner_tables(case, task)
    user = user_validation(case, train, task)
    if user is not None and clearly_below(*user, validation.rows):
        return []
    return _findings(on_validation, training_contest(case, task), user, task)


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


def _single_threaded(function, *args):
    with threadpool_limits(1):  # OpenMP threads on a busy machine make tiny fits 1000x slower
        return function(*args)


def _learner_tables(case, task: str) -> tuple[Table, Table]:
    replayer = case.replayer
    if not replayer.validation_batches:
        raise Skip("needs validation batches, or at least 5 training batches to hold out")
    train, validation = tables(replayer.train_batches, replayer.validation_batches, task)
    train, validation = (
        _with_position_free_columns(case, table, batches)
        for table, batches in ((train, replayer.train_batches),
                               (validation, replayer.validation_batches))
    )
    require_enough(train, task)
    return at_most(train, MAX_TRAINING_ROWS), validation


def _with_position_free_columns(case, table: Table, batches) -> Table:
    """The table with pooled random-kernel responses appended, for image or sequence inputs."""
    try:
        inputs = first_inputs(batches)
    except Skip:
        return table
    if inputs.dim() >= 3 and feature_axis(inputs, case.copies.initial_model) == -1:
        inputs = inputs.movedim(-1, 1)
    extra = random_kernel_features(inputs)
    if extra is None or len(extra) != table.rows:
        return table
    return Table(np.hstack([table.features, extra]), table.target)


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


def user_validation(case, train: Table, task: str) -> tuple[float, float] | None:
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

    @property
    def rows(self) -> int:
        return len(next(iter(self.gains.values())))

    @property
    def best_learner(self) -> str:
        return min(self.learner_losses, key=self.learner_losses.get)

    @property
    def best_loss(self) -> float:
        return self.learner_losses[self.best_learner]


def contest(train: Table, validation: Table, task: str) -> Contest:
    """Each learner, fit on the training rows, against the constant on the validation rows."""
    classes = _classes(task, train, validation)
    constant, learners = _per_row_losses(train, validation, task, classes)
    return _judge(constant, learners, train.rows)


def cross_validated_contest(train: Table, task: str) -> Contest:
    """The same contest inside the training rows: each row is scored by fits made without it."""
    from sklearn.model_selection import KFold

    classes = _classes(task, train, train)
    constant, learners = np.empty(train.rows), {}
    for fit_rows, held_rows in KFold(FOLDS, shuffle=True, random_state=0).split(train.features):
        held = train.subset(held_rows)
        constant[held_rows], fold = _per_row_losses(train.subset(fit_rows), held, task, classes)
        for name, losses in fold.items():
            learners.setdefault(name, np.empty(train.rows))[held_rows] = losses
    return _judge(constant, learners, train.rows)


def _judge(constant: np.ndarray, learners: dict[str, np.ndarray], training_rows: int) -> Contest:
    gains = {name: constant - losses for name, losses in learners.items()}
    p_value = min(_one_sided_p_value(g) for g in gains.values()) * len(gains)
    means = {name: float(losses.mean()) for name, losses in learners.items()}
    return Contest(float(constant.mean()), means, gains, min(p_value, 1.0), training_rows)


def _one_sided_p_value(gains: np.ndarray) -> float:
    """P-value of "the mean gain is above zero" (one-sample t-test)."""
    if np.ptp(gains) == 0:
        return 0.0 if gains[0] > 0 else 1.0
    return float(stats.ttest_1samp(gains, 0.0, alternative="greater").pvalue)


def _per_row_losses(train: Table, held: Table, task: str, classes) -> tuple[np.ndarray, dict]:
    """Per-row losses on the held rows of the constant guess and of each learner."""
    constant = _constant_prediction(train, held.rows, task, classes)
    learners = {
        name: _row_losses(_fit_predict(learner, train, held, task, classes), held, task, classes)
        for name, learner in _learners(task, train).items()
    }
    return _row_losses(constant, held, task, classes), learners


def _learners(task: str, train: Table) -> dict:
    """Quick off-the-shelf learners: a regularized linear model and gradient-boosted trees."""
    from sklearn import ensemble, linear_model
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    trees_settings = WIDE_TREES if train.features.shape[1] > WIDE_TABLE else {}
    if task == CLASSIFICATION:
        linear = linear_model.LogisticRegressionCV(
            Cs=np.logspace(-3, 2, 6), cv=3, scoring="neg_log_loss", l1_ratios=(0.0,),
            use_legacy_attributes=False, max_iter=1000,
        )
        trees = ensemble.HistGradientBoostingClassifier(
            max_iter=50, random_state=0, **trees_settings)
        return {"logistic regression": make_pipeline(StandardScaler(), linear),
                "gradient-boosted trees": trees}
    linear = linear_model.RidgeCV(alphas=np.logspace(-2, 3, 6))
    trees = ensemble.HistGradientBoostingRegressor(max_iter=50, random_state=0, **trees_settings)
    if train.target.shape[1] > 1:  # boosting fits one output; a forest fits several at once
        trees = ensemble.RandomForestRegressor(50, min_samples_leaf=5, random_state=0)
    return {"ridge regression": make_pipeline(StandardScaler(), linear),
            "gradient-boosted trees": trees}


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


# --- findings --------------------------------------------------------------------------------


def _findings(on_validation: Contest, in_training: Contest, user, task: str) -> list[Finding]:
    evidence = _evidence(on_validation, in_training, user)
    if in_training.p_value >= ALPHA:
        confidence = 0.9 if on_validation.rows >= FEW_ROWS else 0.6
        verdict = _no_signal_verdict(on_validation, user, task)
        return [Finding(NO_SIGNAL, confidence, verdict, evidence)]
    if gains_less_on_validation(on_validation, in_training):
        return [_misaligned(on_validation, in_training, evidence, task)]
    return [_inconclusive(on_validation, evidence, task)]


def gains_less_on_validation(on_validation: Contest, in_training: Contest) -> bool:
    """Whether the best in-training learner gains nothing on the validation rows, and
    significantly less than inside training (one-sided Welch t-test at MISALIGNED_ALPHA): the
    mark of validation labels that do not belong to their inputs."""
    learner = in_training.best_learner
    inside, outside = in_training.gains[learner], on_validation.gains[learner]
    result = stats.ttest_ind(inside, outside, equal_var=False, alternative="greater")
    return bool(outside.mean() <= 0 and result.pvalue < MISALIGNED_ALPHA)


def _evidence(on_validation: Contest, in_training: Contest, user) -> dict[str, float]:
    evidence = {
        "constant_validation_loss": on_validation.constant_loss,
        "best_learner_validation_loss": on_validation.best_loss,
        "p_value": on_validation.p_value,
        "alpha": ALPHA,
        "training_rows": on_validation.training_rows,
        "validation_rows": on_validation.rows,
        "cross_validated_constant_loss": in_training.constant_loss,
        "cross_validated_best_learner_loss": in_training.best_loss,
        "cross_validated_p_value": in_training.p_value,
    }
    if user is not None:
        evidence["user_validation_loss"], evidence["constant_loss_in_user_units"] = user
    return evidence


def words(task: str) -> tuple[str, str]:
    """The metric, and the constant guess, in words."""
    if task == CLASSIFICATION:
        return "log loss", "always guessing the training class frequencies"
    return "mean squared error", "always guessing the training average"


def _no_signal_verdict(on_validation: Contest, user, task: str) -> str:
    metric, guess = words(task)
    verdict = (
        f"Nothing predicts your validation labels better than {guess} ({metric} "
        f"{on_validation.constant_loss:.3g}): the labels look independent of the inputs, so no "
        "model, learning rate or normalization will make the validation loss fall. A linear "
        f"model and gradient-boosted trees fit on {on_validation.training_rows} training rows "
        f"did no better (best {metric} {on_validation.best_loss:.3g}, p = "
        f"{on_validation.p_value:.2g})"
    )
    if user is not None:
        verdict += (
            f", and your own model's best validation loss was {user[0]:.3g} against "
            f"{user[1]:.3g} for the constant guess"
        )
    return verdict + "."


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
    return Finding(NO_SIGNAL, 0.85, verdict, evidence, fix=fix)


def _inconclusive(on_validation: Contest, evidence, task: str) -> Finding:
    metric, guess = words(task)
    verdict = (
        f"Nothing beat {guess} on your validation data ({metric} "
        f"{on_validation.constant_loss:.3g}), but inside the training data the labels can be "
        f"predicted: {on_validation.rows} validation rows are too few to tell which holds."
    )
    return Finding(NO_SIGNAL, 0.3, verdict, evidence)
