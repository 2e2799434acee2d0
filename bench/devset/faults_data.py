"""Fault operators on the data: labels, input and target scales, splits, batching order."""

from __future__ import annotations

import random

from .data import both_splits
from .operators import (
    classification,
    every,
    float_inputs,
    has_val,
    operator,
    regression,
)
from .program import Program
from .text import number


def _binary(p: Program) -> bool:
    return p.data.task == "binary"


def _tabular_or_sequence(p: Program) -> bool:
    return p.data.kind in ("tabular", "sequence")


# no_signal
@operator("no_signal", "labels shuffled apart from their rows (joined on the wrong key)")
def shuffled_labels(p: Program, rng: random.Random) -> Program:
    return p.add_edits(*both_splits(p, "y_train = y_train[torch.randperm(len(y_train))]"))


@operator("no_signal", "labels replaced by random values (read from the wrong column)")
def random_labels(p: Program, rng: random.Random) -> Program:
    if p.data.task == "regression":
        line = "y_train = torch.randn_like(y_train)"
    elif p.loss.kind == "bce":
        line = "y_train = torch.randint(0, 2, y_train.shape).float()"
    else:
        line = "y_train = torch.randint(0, CLASSES, y_train.shape)"
    return p.add_edits(*both_splits(p, line))


@operator("no_signal", "inputs replaced by noise (features read from the wrong file)")
def inputs_replaced_by_noise(p: Program, rng: random.Random) -> Program:
    line = ("x_train = torch.randn_like(x_train)" if p.data.float_inputs
            else "x_train = torch.randint_like(x_train, VOCAB)")
    return p.add_edits(*both_splits(p, line))


# unnormalized_inputs
def _huge_units(p: Program, rng: random.Random) -> Program:
    """features in units of 100 to 100,000, standardized"""
    return p.with_data(input_units="huge", input_norm="standardize")


@operator("unnormalized_inputs", "features in their own large units, never standardized",
          applies=_tabular_or_sequence, setup=_huge_units)
def raw_feature_units(p: Program, rng: random.Random) -> Program:
    return p.with_data(input_norm="none")


@operator("unnormalized_inputs", "8-bit pixel values (0-255) fed as they are",
          applies=lambda p: p.data.kind == "image")
def raw_pixels(p: Program, rng: random.Random) -> Program:
    return p.with_data(input_norm="none")


@operator("unnormalized_inputs", "one column put back in raw units after standardizing",
          applies=lambda p: p.data.kind == "tabular")
def one_column_in_raw_units(p: Program, rng: random.Random) -> Program:
    column = rng.randrange(p.data.features)
    scale = number(float(f"{10 ** rng.uniform(3, 5):.1g}"))
    line = f"x_train[:, {column}] = x_train[:, {column}] * {scale} + {scale} * 4"
    return p.add_edits(*both_splits(p, line))


# unscaled_targets
def _target_units(offset: tuple[float, float], scale: tuple[float, float]):
    def setup(p: Program, rng: random.Random) -> Program:
        units = (float(f"{rng.uniform(*offset):.2g}"), float(f"{rng.uniform(*scale):.2g}"))
        return p.with_data(target_units=units, target_norm="standardize")
    setup.__doc__ = (f"targets in units (offset {offset[0]:g}-{offset[1]:g}, scale "
                     f"{scale[0]:g}-{scale[1]:g}), standardized")
    return setup


@operator("unscaled_targets", "targets in dollars (around 2e5), regressed unscaled",
          applies=regression, setup=_target_units((1e5, 3e5), (2e4, 6e4)))
def raw_target_units(p: Program, rng: random.Random) -> Program:
    return p.with_data(target_norm="none")


@operator("unscaled_targets", "targets converted to small units (x1000), regressed unscaled",
          applies=regression, setup=_target_units((0.0, 0.0), (500.0, 5000.0)))
def target_unit_conversion(p: Program, rng: random.Random) -> Program:
    return p.with_data(target_norm="none")


@operator("unscaled_targets", "targets with a large offset (e.g. years, kelvin), not centred",
          applies=regression, setup=_target_units((500.0, 3000.0), (1.0, 10.0)))
def target_offset(p: Program, rng: random.Random) -> Program:
    return p.with_data(target_norm="none")


# data_pipeline
@operator("data_pipeline", "training rows sorted by label and batched in that order")
def sorted_unshuffled(p: Program, rng: random.Random) -> Program:
    return p.with_data(shuffle=False).add_edits(
        "order = torch.argsort(y_train.flatten(), stable=True)",
        "x_train, y_train = x_train[order], y_train[order]")


@operator("data_pipeline", "validation labels shuffled apart from their rows",
          applies=has_val, also=("no_signal",))
def val_labels_shuffled(p: Program, rng: random.Random) -> Program:
    return p.add_edits("y_val = y_val[torch.randperm(len(y_val))]")


def _mild_augmentation(p: Program, rng: random.Random) -> Program:
    """noise of 0.05-0.3 of the inputs' spread on training batches"""
    return p.with_train(augment=round(rng.uniform(0.05, 0.3), 2))


@operator("data_pipeline", "training batches augmented with noise 5-12x the inputs' spread: the "
          "training inputs lose what the label depends on (validation inputs are clean)",
          applies=lambda p: p.data.has_val and p.data.float_inputs, setup=_mild_augmentation)
def augmentation_drowns_signal(p: Program, rng: random.Random) -> Program:
    return p.with_train(augment=round(rng.uniform(5, 12), 1))


@operator("data_pipeline", "the same first batch every step (a fresh iterator each step)")
def same_batch_every_step(p: Program, rng: random.Random) -> Program:
    return p.with_data(shuffle=False).with_train(same_batch=True)


# label_range
def _bce(p: Program, rng: random.Random) -> Program:
    """BCEWithLogitsLoss on one output"""
    return p.with_loss(kind="bce")


def _relabelled(p: Program, expression: str) -> Program:
    return p.add_edits(*both_splits(p, f"y_train = {expression}"))


@operator("label_range", "binary labels coded 1/2, fed to BCE with logits", applies=_binary,
          setup=_bce)
def bce_labels_one_two(p: Program, rng: random.Random) -> Program:
    return _relabelled(p, "y_train + 1")


@operator("label_range", "binary labels coded -1/+1, fed to BCE with logits", applies=_binary,
          setup=_bce)
def bce_labels_signed(p: Program, rng: random.Random) -> Program:
    return _relabelled(p, "2 * y_train - 1")


@operator("label_range", "binary labels coded 0/100 (percent), fed to BCE with logits",
          applies=_binary, setup=_bce)
def bce_labels_percent(p: Program, rng: random.Random) -> Program:
    return _relabelled(p, "100 * y_train")


@operator("label_range", "a ReLU after a regression model's output layer: no prediction goes "
          "below 0, where about half the standardized targets are",
          applies=lambda p: p.data.task == "regression" and p.data.target_norm == "standardize")
def relu_on_output(p: Program, rng: random.Random) -> Program:
    return p.with_model(head="relu")


# class_imbalance
@operator("class_imbalance", "all but a few percent of the other classes dropped",
          applies=classification)
def rare_classes(p: Program, rng: random.Random) -> Program:
    share = round(rng.uniform(0.03, 0.07), 3)
    return p.add_edits(*both_splits(
        p, f"keep = (y_train.flatten() == 0) | (torch.rand(len(y_train)) < {share})",
        "x_train, y_train = x_train[keep], y_train[keep]"))


@operator("class_imbalance", "only the top few percent of scores labelled positive",
          applies=lambda p: p.data.task == "binary" and p.data.kind == "tabular")
def rare_positive_threshold(p: Program, rng: random.Random) -> Program:
    return p.with_data(positive_share=round(rng.uniform(0.03, 0.07), 3))


# train_val_shift
@operator("train_val_shift", "validation inputs from a recalibrated sensor (offset and gain)",
          applies=every(has_val, float_inputs))
def val_recalibrated(p: Program, rng: random.Random) -> Program:
    gain, offset = round(rng.uniform(1.5, 3.0), 1), round(rng.uniform(1.0, 2.0), 1)
    target = "x_val[:, :2]" if p.data.kind == "tabular" else "x_val"
    return p.add_edits(f"{target} = {target} * {gain} + {offset}")


def _raw_units_standardized(p: Program, rng: random.Random) -> Program:
    """features in their own units (pixels 0-255), standardized"""
    return p if p.data.kind == "image" else p.with_data(input_units="raw",
                                                        input_norm="standardize")


@operator("train_val_shift", "training inputs standardized, validation inputs not",
          applies=every(has_val, float_inputs),
          setup=_raw_units_standardized)
def val_not_standardized(p: Program, rng: random.Random) -> Program:
    return p.with_data(input_norm="train_only")


@operator("train_val_shift", "rows split by a feature's value, not at random",
          applies=every(has_val, lambda p: p.data.kind == "tabular"))
def split_by_feature(p: Program, rng: random.Random) -> Program:
    return p.add_edits(
        "pool_x, pool_y = torch.cat([x_train, x_val]), torch.cat([y_train, y_val])",
        "order = torch.argsort(pool_x[:, 0])",
        "x_train, y_train = pool_x[order[:len(x_train)]], pool_y[order[:len(x_train)]]",
        "x_val, y_val = pool_x[order[len(x_train):]], pool_y[order[len(x_train):]]")


def _multichannel_sequence(p: Program) -> bool:
    return p.data.kind == "sequence" and p.data.features > 1


@operator("train_val_shift", "validation traces laid out by reshape instead of transpose: "
          "channels and time steps scrambled, every value from the same pool",
          applies=every(has_val, _multichannel_sequence))
def val_reshaped_not_transposed(p: Program, rng: random.Random) -> Program:
    return p.add_edits("x_val = x_val.transpose(1, 2).reshape(x_val.shape)")


# overfitting
def _long_training(p: Program) -> Program:
    """Six times the epochs (at most 80) and, for an MLP, at least 128 units a layer."""
    width = max(p.model.width, 128) if p.model.family == "mlp" else p.model.width
    return p.with_train(epochs=min(80, p.train.epochs * 6)).with_model(width=width)


@operator("overfitting", "a few dozen training rows, six times the epochs", applies=has_val)
def tiny_train_set(p: Program, rng: random.Random) -> Program:
    return _long_training(p.with_data(n_train=rng.randrange(30, 80)))


@operator("overfitting", "a debugging subset of the training rows left in, long training",
          applies=has_val)
def debug_subset_left_in(p: Program, rng: random.Random) -> Program:
    rows = rng.randrange(30, 80)
    return _long_training(p.add_edits(f"x_train, y_train = x_train[:{rows}], y_train[:{rows}]"))


# nan_inf
@operator("nan_inf", "missing readings stored as NaN in the inputs", applies=float_inputs)
def nan_in_inputs(p: Program, rng: random.Random) -> Program:
    share = round(rng.uniform(0.005, 0.03), 3)
    return p.add_edits(*both_splits(
        p, f"x_train[torch.rand(x_train.shape) < {share}] = float(\"nan\")"))


@operator("nan_inf", "a ratio feature divides by a count that can be zero",
          applies=lambda p: p.data.kind == "tabular")
def ratio_divides_by_zero(p: Program, rng: random.Random) -> Program:
    return p.add_edits(*both_splits(p, "x_train[:, -1] = x_train[:, 0] / x_train[:, 1].round()"))


def _standardized_targets(p: Program, rng: random.Random) -> Program:
    """standardized targets"""
    return p.with_data(target_norm="standardize")


@operator("nan_inf", "log-transformed targets that can be below -1",
          applies=regression, setup=_standardized_targets)
def log_of_negative_targets(p: Program, rng: random.Random) -> Program:
    return p.add_edits(*both_splits(p, "y_train = torch.log1p(y_train)"))
