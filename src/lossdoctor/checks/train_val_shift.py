"""train_val_shift: the validation inputs come from another distribution than the training ones.

A classifier two-sample test: gradient-boosted trees learn to tell training rows from validation
rows (equal numbers of each), cross-validated. When both come from one distribution no
classifier beats a coin flip on held-out rows, so the number of rows it gets right is
Binomial(n, 1/2); many more right means the two sets differ. The cross-validated AUC says by how
much, and each feature's mean and scale shift (in training standard deviations) say where.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from lossdoctor.checks._tabular import tables, task_of
from lossdoctor.findings import Cause, Finding, Skip

TRAIN_VAL_SHIFT = Cause(
    id="train_val_shift",
    title="Validation data comes from another distribution",
    fix=(
        "Draw the validation data from the same distribution as the training data, with the same "
        "preprocessing."
    ),
    question="Does validation come from another distribution?",
    test=(
        "a classifier two-sample test (train rows against validation rows, cross-validated AUC "
        "with a binomial test) and per-feature shifts"
    ),
    explains={"no_signal", "overfitting"},
)

CAUSES = (TRAIN_VAL_SHIFT,)


#: Rows of each set the classifier sees (a seeded random subset), to stay fast.
MAX_ROWS_PER_SET = 600
MIN_ROWS_PER_SET = 30
FOLDS = 3
#: Significance of "better than a coin flip", and the least separation worth reporting: a
#: classifier that ranks a validation row above a training row 70% of the time (AUC 0.7) is a
#: shift a practitioner would see in the features; smaller AUCs are real but mild differences.
ALPHA = 1e-3
MIN_AUC = 0.7


def check(case) -> list[Finding]:
    if not case.copies.validation.batches:
        raise Skip("needs validation batches (a separate validation set) to compare with")
    replayer = case.replayer
    task = task_of(case.trace.setup.loss_name) or "regression"
    train, validation = tables(replayer.train_batches, replayer.validation_batches, task)
    auc, p_value, rows = shift_test(train.features, validation.features)
    if p_value >= ALPHA or auc < MIN_AUC:
        return []
    return [_finding(auc, p_value, rows, feature_shifts(train.features, validation.features))]


def shifted(train: np.ndarray, validation: np.ndarray) -> bool:
    """Whether the two sets of rows come from different distributions, by this check's test."""
    auc, p_value, _ = shift_test(train, validation)
    return p_value < ALPHA and auc >= MIN_AUC


def shift_test(train: np.ndarray, validation: np.ndarray) -> tuple[float, float, int]:
    """(AUC, binomial p-value, rows per set) of the classifier two-sample test on equal
    numbers of rows of each set."""
    rows = min(len(train), len(validation), MAX_ROWS_PER_SET)
    if rows < MIN_ROWS_PER_SET:
        raise Skip(f"needs at least {MIN_ROWS_PER_SET} training and validation rows")
    rng = np.random.default_rng(0)
    x_train = train[rng.choice(len(train), rows, replace=False)]
    x_val = validation[rng.choice(len(validation), rows, replace=False)]
    with threadpool_limits(1):
        auc, correct = two_sample_test(x_train, x_val)
    p_value = float(stats.binomtest(correct, 2 * rows, 0.5, alternative="greater").pvalue)
    return auc, p_value, rows


def two_sample_test(x_train: np.ndarray, x_val: np.ndarray) -> tuple[float, int]:
    """(cross-validated AUC, held-out rows classified right) of a classifier telling
    validation rows (1) from training rows (0)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.concatenate([x_train, x_val])
    is_validation = np.repeat([0, 1], [len(x_train), len(x_val)])
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    classifier = HistGradientBoostingClassifier(max_iter=50, random_state=0)
    scores = cross_val_predict(classifier, x, is_validation, cv=folds,
                               method="predict_proba")[:, 1]
    correct = int(((scores > 0.5) == is_validation).sum())
    return float(roc_auc_score(is_validation, scores)), correct


def feature_shifts(train: np.ndarray, validation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature: the validation mean's distance from the training mean in training standard
    deviations, and log10 of the ratio of standard deviations."""
    train_std = train.std(axis=0)
    spread = np.where(train_std > 0, train_std, 1.0)
    mean_shift = (validation.mean(axis=0) - train.mean(axis=0)) / spread
    scale_ratio = np.log10(np.maximum(validation.std(axis=0), 1e-12) / np.maximum(train_std, 1e-12))
    return mean_shift, scale_ratio


def _finding(auc: float, p_value: float, rows: int, shifts) -> Finding:
    mean_shift, scale_ratio = shifts
    by_mean, by_scale = int(np.abs(mean_shift).argmax()), int(np.abs(scale_ratio).argmax())
    evidence = {
        "classifier_auc": auc, "p_value": p_value, "rows_per_set": rows,
        "largest_mean_shift_sd": float(mean_shift[by_mean]), "feature_of_mean_shift": by_mean,
        "largest_scale_ratio": float(10 ** scale_ratio[by_scale]),
        "feature_of_scale_shift": by_scale,
        "features_shifted_over_half_sd": int((np.abs(mean_shift) > 0.5).sum()),
    }
    verdict = (
        f"A classifier tells your validation rows from your training rows (cross-validated AUC "
        f"{auc:.2f}, where 0.5 means they are alike; p = {p_value:.2g} on {rows} rows of each). "
        f"The largest differences: input column {by_mean}'s mean is "
        f"{mean_shift[by_mean]:+.2g} training standard deviations off, and column {by_scale}'s "
        f"spread is {10 ** scale_ratio[by_scale]:.2g} times the training one. The validation "
        "data comes from another distribution (or another preprocessing), so the validation "
        "loss measures something the training cannot improve."
    )
    confidence = 0.6 + 0.4 * min((auc - MIN_AUC) / (1 - MIN_AUC) * 2, 1.0)
    return Finding(TRAIN_VAL_SHIFT, confidence, verdict, evidence)
