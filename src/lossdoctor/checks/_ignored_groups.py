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

from lossdoctor.checks._contest import (
    Contest,
    labels_unpredictable,
    learner_tables,
    training_contest,
    validation_contest,
    words,
)
from lossdoctor.checks._input_groups import LABELS_IGNORE_P, Groups, input_groups
from lossdoctor.checks._tabular import task_of
from lossdoctor.findings import Cause, Finding
from lossdoctor.losses import CLASSIFICATION

#: "Well separated" groups: an average silhouette of at least this. Kaufman and Rousseeuw
#: (Finding Groups in Data, 1990) read 0.51-0.70 as "a reasonable structure has been found"
#: and 0.26-0.50 as "weak, could be artificial". Unstructured dev inputs stay far below it
#: (gaussian rows of 2-20 columns 0.04-0.32, the dev bases' images and traces 0.02-0.32,
#: the article's random-label rows 0.09-0.11), but gaussian rows of a single column reach
#: 0.54: hence BEYOND_REFERENCE too.
WELL_SEPARATED = 0.5
#: ... and beating the silhouette of the same k-means on gaussian rows of the same covariance
#: by at least this. Measured on inputs without groups (scratch, 800 rows, 3 seeds): gaussian
#: rows of 1-20 columns +0.00 to +0.03, the article's uniform and gaussian rows +0.01 to +0.02,
#: the dev bases' traces +0.03 to +0.07 and images +0.01 to +0.16 (8-pixel pictures of four
#: scratch orientations, which do fall into loose groups); inputs drawn around 2 to 5 profiles
#: 2.5-3.5 times their spread apart per column (faults_pairs.labels_detached_from_groups)
#: +0.21 to +0.41.
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
    included, and the training inputs fall into well separated groups whose label mix is the
    overall one; else None."""
    task = task_of(case.trace.setup.loss_name)
    if task is None or not case.copies.validation.batches:
        return None
    if not labels_unpredictable(case, task):
        return None
    train, _ = learner_tables(case, task)
    on_validation, in_training = validation_contest(case, task), training_contest(case, task)
    groups = case.shared("signal.input_groups", lambda: input_groups(
        train.features, train.target, task == CLASSIFICATION))
    if groups is None or not well_separated(groups) or groups.label_p < LABELS_IGNORE_P:
        return None
    return groups, on_validation, in_training, task


def ignored_groups_finding(case, cause: Cause) -> Finding | None:
    """The finding, of ``cause`` (data_pipeline's), when ``ignored_groups`` holds."""
    found = ignored_groups(case)
    if found is None:
        return None
    groups, on_validation, in_training, task = found
    metric, guess = words(task)
    verdict = (
        f"Your inputs fall into {groups.count} clearly separated groups (k-means on "
        f"{on_validation.training_rows} training rows: silhouette {groups.silhouette:.2f}, "
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
