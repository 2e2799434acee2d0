"""Fault operators on three held-out mechanisms (bench/projects6): a one-cycle schedule sized
from the dataset's rows instead of its batches, class labels counted from 1 so the last one
equals the number of classes, and training labels shuffled apart from their inputs at every
epoch (a generator that shuffles x and y with two separate calls)."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import classification, every, operator
from .program import Program


def _onecycle(p: Program, rng: random.Random) -> Program:
    """OneCycleLR(max_lr=LR) over EPOCHS * the batches of an epoch, stepped every batch"""
    return p.with_train(schedule="onecycle")


def _several_batches(p: Program) -> bool:
    """At least 8 batches an epoch: sized from the rows, the cycle is 8 times too long or more."""
    return p.data.n_train >= 8 * p.train.batch_size and p.train.update == "optimizer"


@operator("lr_schedule", "OneCycleLR given steps_per_epoch=len(x_train), the rows, where the "
          "batches were meant: the rate stays in the first part of its warm-up all run",
          applies=_several_batches, setup=_onecycle, also=("lr_too_low",))
def onecycle_sized_by_rows(p: Program, rng: random.Random) -> Program:
    return p.with_train(schedule="onecycle_rows")


def _class_ids(p: Program) -> bool:
    """Class ids fed to a cross-entropy over CLASSES outputs (not BCE's one output)."""
    return p.loss.kind in ("ce", "nll_raw") and not p.data.multi_label


@operator("label_range", "class labels counted from 1 (1..C, as written in a CSV) fed to a "
          "C-way cross-entropy: the label C is out of range and the script crashes",
          applies=every(classification, _class_ids))
def target_equals_class_count(p: Program, rng: random.Random) -> Program:
    return p.add_edits(*both_splits(p, "y_train = y_train + 1  # labels as written: 1..C"))


@operator("data_pipeline", "the training labels shuffled apart from their inputs at every "
          "epoch's start (x and y shuffled by two calls): each epoch pairs every input with "
          "another row's label; the validation pairs are right",
          applies=classification, also=("no_signal",))
def labels_repaired_each_epoch(p: Program, rng: random.Random) -> Program:
    return p.with_train(repair_labels=True)
