"""A classifier two-sample test: do two sets of rows come from one distribution?

Gradient-boosted trees learn to tell the first set's rows from the second's (equal numbers of
each), cross-validated. When both come from one distribution no classifier beats a coin flip on
held-out rows, so the number of rows it gets right is Binomial(n, 1/2); many more right means
the two sets differ. The cross-validated AUC says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from lossdoctor.findings import Skip

#: Rows of each set the classifier sees (a seeded random subset), to stay fast.
MAX_ROWS_PER_SET = 600
MIN_ROWS_PER_SET = 30
FOLDS = 3
#: Significance of "better than a coin flip", and the least separation worth reporting: a
#: classifier that ranks a validation row above a training row 70% of the time (AUC 0.7) is a
#: shift a practitioner would see in the features; smaller AUCs are real but mild differences.
ALPHA = 1e-3
MIN_AUC = 0.7


@dataclass
class ShiftTest:
    auc: float  # cross-validated: 0.5 when the classifier cannot tell the sets apart
    p_value: float  # binomial, of the held-out rows it classified right
    rows: int  # rows of each set

    @property
    def shifted(self) -> bool:
        """The two sets come from different distributions, clearly enough to act on."""
        return self.p_value < ALPHA and self.auc >= MIN_AUC


def shifted(train: np.ndarray, validation: np.ndarray) -> bool:
    """Whether the two sets of rows come from different distributions."""
    return shift_test(train, validation).shifted


def shift_test(train: np.ndarray, validation: np.ndarray) -> ShiftTest:
    """The classifier two-sample test on equal numbers of rows of each set."""
    rows = min(len(train), len(validation), MAX_ROWS_PER_SET)
    if rows < MIN_ROWS_PER_SET:
        raise Skip(f"needs at least {MIN_ROWS_PER_SET} training and validation rows")
    rng = np.random.default_rng(0)
    x_train = train[rng.choice(len(train), rows, replace=False)]
    x_val = validation[rng.choice(len(validation), rows, replace=False)]
    with threadpool_limits(1):
        auc, correct = two_sample_test(x_train, x_val)
    p_value = float(stats.binomtest(correct, 2 * rows, 0.5, alternative="greater").pvalue)
    return ShiftTest(auc, p_value, rows)


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
