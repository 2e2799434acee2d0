"""Fault operators on inputs normalized with statistics in the wrong units: the mean and std of
0-255 pixels applied to pixels already in 0-1 (kuangliu/pytorch-cifar's issue:
``ToTensor()`` then ``Normalize((125.3, 123.0, 113.9), (63.0, 62.1, 66.7))``), a scaler fitted
on readings in milli-units applied to readings in units, and 0-1 pixels divided by 255 again.
Each leaves the inputs nearly constant: their spread a few thousandths, on an offset of unit
scale (the first two) or none (the last)."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import operator
from .program import Program


def _image(p: Program) -> bool:
    return p.data.kind == "image"


def _tabular(p: Program) -> bool:
    return p.data.kind == "tabular"


def _pixels_in_0_1(p: Program, rng: random.Random) -> Program:
    """pixels divided by 255 (0 to 1)"""
    return p.with_data(input_norm="standardize")


@operator("unnormalized_inputs", "0-1 pixels normalized with the mean and std of 0-255 pixels "
          "(around 120 and 60): every input near -2, its spread a few thousandths",
          applies=_image, setup=_pixels_in_0_1)
def pixel_stats_in_255_units(p: Program, rng: random.Random) -> Program:
    mean, std = round(rng.uniform(100, 140), 1), round(rng.uniform(50, 70), 1)
    line = f"x_train = (x_train - {mean}) / {std}  # the dataset's mean and std, in 0-255 units"
    return p.add_edits(*both_splits(p, line))


@operator("unnormalized_inputs", "0-1 pixels divided by 255 a second time: every input a few "
          "thousandths", applies=_image, setup=_pixels_in_0_1)
def pixels_divided_twice(p: Program, rng: random.Random) -> Program:
    return p.add_edits(*both_splits(p, "x_train = x_train / 255  # to 0-1, as for raw pixels"))


def _raw_units_standardized(p: Program, rng: random.Random) -> Program:
    """features in their own units (offset 2-5 times the scale), standardized"""
    return p.with_data(input_units="raw", input_norm="standardize")


@operator("unnormalized_inputs", "features standardized with a scaler fitted on them in "
          "milli-units (x1000): every column near its offset, its spread a thousandth",
          applies=_tabular, setup=_raw_units_standardized)
def scaler_in_milli_units(p: Program, rng: random.Random) -> Program:
    fitted = "scaler_mean, scaler_std = x_train.mean(dim=0) * 1000, x_train.std(dim=0) * 1000"
    line = "x_train = (x_train - scaler_mean) / scaler_std"
    return p.with_data(input_norm="none").add_edits(
        f"{fitted}  # fitted on the readings in milli-units", *both_splits(p, line))
