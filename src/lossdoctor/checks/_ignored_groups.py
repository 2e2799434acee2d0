"""Labels that nothing predicts, in both splits, on inputs that fall into well separated groups:
a structure the inputs plainly carry and the labels ignore, which points at how inputs and
labels were paired (a Dataset taking its labels from the table in file order and its inputs
from the shuffled split; two lists built from differently ordered tables; a join on the wrong
key) rather than at labels that are noise.

no_signal reads the same pairs and says, truly, that nothing predicts the labels; this reading
adds what tells a pairing fault apart: the inputs' own groups (:mod:`._input_groups`). Random
labels on inputs without such groups (the article's ``torch.randn`` rows with
``torch.randint`` labels) stay no_signal's.
"""

from __future__ import annotations

import numpy as np

from lossdoctor.checks._contest import Contest, learner_tables, position_free_columns, words
from lossdoctor.checks._input_groups import LABELS_IGNORE_P, Groups, input_groups
from lossdoctor.checks._label_signal import label_signal
from lossdoctor.checks._tabular import table
from lossdoctor.findings import Cause, Finding, Skip
from lossdoctor.losses import CLASSIFICATION

#: "Well separated" groups: an average silhouette of at least this. Kaufman and Rousseeuw
#: (Finding Groups in Data, 1990) read 0.51-0.70 as "a reasonable structure has been found"
#: and 0.26-0.50 as "weak, could be artificial". Unstructured inputs stay below it (scratch,
#: 800 rows, 3 seeds each: gaussian rows of 2-20 columns 0.04-0.32; the article's
#: random-label rows 0.09-0.11; the dev bases' images 0.05-0.23 and traces 0.06-0.36 on
#: their position-free columns), but gaussian rows of a single column reach 0.54: hence
#: BEYOND_REFERENCE too. The dev operator labels_detached_from_groups gives 0.56-0.64.
WELL_SEPARATED = 0.5
#: ... and beating the silhouette of the same k-means on gaussian rows of the same covariance
#: by at least this. On the same unstructured inputs: gaussian rows of 1-20 columns +0.00 to
#: +0.03, the article's rows +0.01 to +0.02, the dev bases' traces +0.02 to +0.10 and images
#: +0.01 to +0.15 (pictures of four scratch orientations, which do fall into loose groups);
#: inputs drawn around 2 to 5 profiles 2.5-3.5 times their spread apart per column +0.21 to
#: +0.41; six kinds of 32x32 leaf pictures on their position-free columns +0.38.
BEYOND_REFERENCE = 0.2
#: A reading of the inputs' structure, not a replayed fix: below data_pipeline's findings that
#: a replay or a test on the batches confirms (0.85).
IGNORED_GROUPS_CONFIDENCE = 0.7
#: The advice: where the pairing goes wrong.
PAIRING_FIX = (
    "Check how each input is paired with its label: labels taken from the table in file order "
    "while the inputs come from a shuffled or split copy of it, two lists built from "
    "differently ordered tables (os.listdir is not sorted), or a join on the wrong key. Print "
    "a few inputs with their labels from your Dataset to see it."
)


def well_separated(groups: Groups) -> bool:
    return groups.silhouette >= WELL_SEPARATED and groups.separation >= BEYOND_REFERENCE


def ignored_groups(case) -> tuple[Groups, Contest, Contest, str] | None:
    """(the inputs' groups, the learners' contest on validation, the one inside the training
    rows, the task) when nothing predicts the labels in either split, the user's model
    included (no_signal's own decision, checks/_label_signal.py, on one label per input), and
    the training inputs fall into well separated groups whose label mix is the overall one;
    else None."""
    if not case.copies.validation.batches:
        return None
    try:
        reading = label_signal(case)
    except Skip:
        return None
    if not reading.unpredictable or reading.per_position is not None:
        return None  # labels per position are no input's label, for its group to decide
    task, on_validation, in_training = reading.task, reading.on_validation, reading.in_training
    groups = case.shared("signal.input_groups", lambda: input_groups(
        *_grouping_rows(case, task), task == CLASSIFICATION))
    if groups is None or not well_separated(groups) or groups.label_p < LABELS_IGNORE_P:
        return None
    return groups, on_validation, in_training, task


def _grouping_rows(case, task: str) -> tuple[np.ndarray, np.ndarray]:
    """(the rows k-means groups, their labels): for images and sequences, their position-free
    columns alone (pooled random-kernel responses, ``_contest.position_free_columns``): kinds
    of pictures differ in what they show, not where, and the pixels' own columns, mostly
    noise, drown that (six kinds of 32x32 leaves: silhouette 0.25 on pixels and kernels,
    0.54 on the kernels alone, the same six groups found); the learners' table otherwise."""
    batches = case.replayer.train_batches
    extra = position_free_columns(case, batches)
    if extra is not None:
        try:
            labels = table(batches, task).target
        except Skip:
            labels = None
        if labels is not None and len(labels) == len(extra):
            return extra, labels
    train, _ = learner_tables(case, task)
    return train.features, train.target


def ignored_groups_finding(case, cause: Cause) -> Finding | None:
    """The finding, of ``cause`` (data_pipeline's), when ``ignored_groups`` holds."""
    found = ignored_groups(case)
    if found is None:
        return None
    groups, on_validation, in_training, task = found
    metric, guess = words(task)
    verdict = (
        f"Your inputs fall into {groups.count} clearly separated groups (k-means on "
        f"{groups.rows} training rows: silhouette {groups.silhouette:.2f}, "
        f"where inputs without groups of the same spread give {groups.reference:.2f}), but "
        f"every group holds your labels in about the overall mix, and nothing predicts the "
        f"labels in your validation rows ({metric} {on_validation.best_loss:.3g} at best "
        f"against {on_validation.constant_loss:.3g} for {guess}) nor inside your training "
        f"rows. Your inputs carry a clear structure that your labels ignore: labels that are "
        f"pure noise are rare, and labels detached from their inputs in both splits (each "
        f"input paired with another row's label) look exactly like this."
    )
    evidence = {
        "input_groups": float(groups.count),
        "silhouette": groups.silhouette,
        "reference_silhouette": groups.reference,
        "well_separated": WELL_SEPARATED,
        "beyond_reference": BEYOND_REFERENCE,
        "group_label_p_value": groups.label_p,
        "constant_validation_loss": on_validation.constant_loss,
        "best_learner_validation_loss": on_validation.best_loss,
        "p_value": on_validation.p_value,
        "cross_validated_p_value": in_training.p_value,
    }
    return Finding(cause, IGNORED_GROUPS_CONFIDENCE, verdict, evidence, fix=PAIRING_FIX,
                   title="Your labels ignore the groups your inputs fall into")
