"""Fault operators on how inputs and labels are paired, where the inputs show it.

Labels detached from their inputs in both splits (a Dataset that takes its labels from the table
in file order and its inputs from the shuffled split) leave pairs that nothing can predict, as
labels that are noise do: the no_signal operators (faults_data) plant that on inputs without a
structure of their own. Here the inputs fall into well separated groups, and the group decides the
label in the twin: detached, the labels ignore a structure the inputs plainly carry, which is what
tells a pairing fault from noise (checks/_input_groups.py)."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import classification, every, float_inputs, operator
from .program import Program
from .text import number


def _tabular(p: Program) -> bool:
    return p.data.kind == "tabular"


def _grouped_rows(p: Program, rng: random.Random) -> Program:
    """rows drawn around one profile per class, the profiles far apart"""
    # Profiles are orthonormal directions times SPREAD: every two are SPREAD * sqrt(2) apart
    # against a spread of 1 within a group, so the groups are well separated whatever the
    # number of columns (SPREAD grows with their square root, as the distance within a group).
    spread = number(float(f"{rng.uniform(2.5, 3.5) * p.data.features ** 0.5:.2g}"))
    lines = (
        f"PROFILES = {spread} * torch.linalg.qr(torch.randn(FEATURES, FEATURES))[0][:CLASSES]",
        "x_train = PROFILES[y_train.long().view(-1)] + torch.randn(len(x_train), FEATURES)",
    )
    return p.add_edits(lines[0], *both_splits(p, lines[1]))


def _profiles_fit(p: Program) -> bool:
    """One orthonormal profile per class needs at least as many columns as classes."""
    return p.data.features >= p.data.classes


@operator("data_pipeline",
          "labels detached from their inputs in both splits (labels in file order, inputs "
          "shuffled), on inputs that fall into well separated groups the labels followed",
          applies=every(_tabular, classification, float_inputs, _profiles_fit),
          setup=_grouped_rows)
def labels_detached_from_groups(p: Program, rng: random.Random) -> Program:
    return p.add_edits(*both_splits(p, "y_train = y_train[torch.randperm(len(y_train))]"))
