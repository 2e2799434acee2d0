"""Fault operators on multi-label targets: each row has several 0/1 labels, one BCE output per
label (a tagger, fast-bert's BertForMultiLabelSequenceClassification). The set-up gives a
tabular base CLASSES labels, each the sign of a fixed linear rule of the inputs (positive in
about half the rows); the fault moves each label's cut so that it is positive in only about
1% of the rows (fast-bert#52: 500 labels each positive in 0.4% of rows, the model predicting
"no" for every one), where the thread's fix is BCEWithLogitsLoss(pos_weight=negatives /
positives)."""

from __future__ import annotations

import random

from .operators import operator
from .program import Program

#: The labels' rule: a fixed random projection of the inputs, one column per label.
RULE = ["LABEL_RULE = torch.randn(x_train[0].numel(), CLASSES, "
        "generator=torch.Generator().manual_seed(7))"]


def _labels(p: Program, share: str) -> list[str]:
    """Lines making y_train (and y_val) from the inputs, each label positive above its
    training rows' 1 - ``share`` quantile."""
    lines = ["label_scores = x_train.flatten(1) @ LABEL_RULE",
             f"label_cuts = label_scores.quantile(1 - {share}, dim=0)",
             "y_train = (label_scores > label_cuts).float()"]
    if p.data.has_val:
        lines.append("y_val = (x_val.flatten(1) @ LABEL_RULE > label_cuts).float()")
    return lines


def _multi_label(p: Program, rng: random.Random) -> Program:
    """several 0/1 labels per row (the sign of a linear rule of the inputs, positive in about
    half the rows), BCEWithLogitsLoss over one output per label"""
    labels = rng.choice((4, 6, 8))
    return p.with_data(multi_label=True, classes=labels).with_loss(
        kind="bce", outside="").add_edits(*RULE, *_labels(p, "0.5"))


def _tabular_classes(p: Program) -> bool:
    return p.data.kind == "tabular" and p.data.task != "regression"


@operator("class_imbalance", "multi-label targets whose labels are each positive in about 1% "
          "of the rows (the model learns to say no to every label)",
          applies=_tabular_classes, setup=_multi_label)
def rare_multi_labels(p: Program, rng: random.Random) -> Program:
    share = round(rng.uniform(0.005, 0.02), 4)
    return p.add_edits(*_labels(p, str(share)))
