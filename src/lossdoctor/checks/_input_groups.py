"""Whether the inputs fall into well separated groups, and whether the labels follow them.

Labels that nothing predicts are either noise or labels detached from their inputs (a Dataset
that takes the labels from the table in file order and the inputs from the shuffled split, a
join on the wrong key). From the (input, label) pairs alone the two cannot be told apart; what
tells them apart is the inputs' own structure. Inputs that fall into well separated groups (kinds
of leaves, product types, customer segments) are rarely made to carry a label that ignores
those groups, and a label mix per group equal to the overall mix is what pairing each input
with another row's label gives.

The groups are k-means' on the training rows (for images and sequences their position-free
columns, pooled random-kernel responses: see checks/_ignored_groups.py), standardized, for 2 to
MAX_GROUPS groups, and their separation is the silhouette (Rousseeuw 1987: for each row, how much
nearer it is to its own group than to the next, from -1 to 1). k-means finds groups in any data,
and a silhouette of unstructured rows depends on their dimension (about 0.35 on gaussian rows in
two dimensions, 0.05 in a hundred), so the same k-means is run on gaussian rows of the same
covariance and the groups count only by how much their silhouette beats that reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

#: Most groups tried (k = 2 ... MAX_GROUPS).
MAX_GROUPS = 8
#: Rows clustered at most (a sample of the training table): k-means and the silhouette stay
#: fast (the silhouette is quadratic in the rows).
SAMPLE_ROWS = 600
#: Restarts of k-means for each number of groups.
RESTARTS = 3
#: Columns whose spread is below this are left out (constant pixels, padding).
FLAT_COLUMN = 1e-8
#: The label mix of the groups counts as the overall mix unless a test of independence between
#: group and label (chi-square for classes, one-way ANOVA for numbers) rejects it at this level.
#: The learners' contest has already found nothing predicting the labels (trees would use a
#: group that decides them), so this only guards against a contest that missed it; at 0.05 it
#: rejected labels truly detached by chance one time in twenty (a CNN script of six kinds of
#: leaves with file-order labels: p = 0.026, its groups at silhouette 0.54).
LABELS_IGNORE_P = 0.001


@dataclass
class Groups:
    count: int  # the number of groups with the best separation over the reference
    silhouette: float  # their silhouette on the standardized rows
    reference: float  # the same k-means' silhouette on gaussian rows of the same covariance
    sizes: list[int]  # rows per group, largest first
    rows: int = 0  # rows clustered (at most SAMPLE_ROWS)
    label_p: float = 1.0  # the test of independence between group and label

    @property
    def separation(self) -> float:
        """How much the groups' silhouette beats the reference's."""
        return self.silhouette - self.reference


def input_groups(features: np.ndarray, labels: np.ndarray, classes: bool,
                 seed: int = 0) -> Groups | None:
    """The best separated k-means groups of ``features`` (rows x columns), with the test of
    whether ``labels`` follow them; None when fewer than MAX_GROUPS x 5 rows or no column
    varies."""
    rng = np.random.default_rng(seed)
    rows = _standardized(features)
    if rows is None or len(rows) < 5 * MAX_GROUPS:
        return None
    keep = rng.choice(len(rows), min(len(rows), SAMPLE_ROWS), replace=False)
    rows, labels = rows[keep], np.asarray(labels).reshape(len(features), -1)[keep]
    reference = _gaussian_like(rows, rng)
    best: Groups | None = None
    with threadpool_limits(1):
        for count in range(2, MAX_GROUPS + 1):
            assigned, silhouette = _kmeans(rows, count, seed)
            _, reference_silhouette = _kmeans(reference, count, seed)
            if best is None or silhouette - reference_silhouette > best.separation:
                sizes = sorted(np.bincount(assigned, minlength=count).tolist(), reverse=True)
                best = Groups(count, silhouette, reference_silhouette, sizes, len(rows),
                              _label_p(assigned, labels, classes))
    return best


def _standardized(features: np.ndarray) -> np.ndarray | None:
    features = np.asarray(features, dtype=np.float64)
    features = features[:, np.all(np.isfinite(features), axis=0)]
    spread = features.std(axis=0)
    varies = spread > FLAT_COLUMN
    if not varies.any():
        return None
    return (features[:, varies] - features[:, varies].mean(axis=0)) / spread[varies]


def _gaussian_like(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian rows with the same covariance as ``rows`` (standardized: mean 0)."""
    values, vectors = np.linalg.eigh(np.atleast_2d(np.cov(rows, rowvar=False)))
    scales = np.sqrt(np.clip(values, 0.0, None))
    return (rng.standard_normal(rows.shape) * scales) @ vectors.T


def _kmeans(rows: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    assigned = KMeans(n_clusters=count, n_init=RESTARTS, random_state=seed).fit_predict(rows)
    if len(np.unique(assigned)) < 2:
        return assigned, 0.0
    return assigned, float(silhouette_score(rows, assigned))


def _label_p(assigned: np.ndarray, labels: np.ndarray, classes: bool) -> float:
    """The p-value of the test that the labels do not depend on the group (one column of
    labels: the first, for several)."""
    label = labels[:, 0]
    if classes:
        values = np.unique(label)
        table = np.array([[np.sum((assigned == g) & (label == v)) for v in values]
                          for g in np.unique(assigned)])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:
            return 1.0
        return float(stats.chi2_contingency(table)[1])
    groups = [label[assigned == g] for g in np.unique(assigned)]
    if any(len(g) < 2 for g in groups):
        return 1.0
    return float(stats.f_oneway(*groups).pvalue)
