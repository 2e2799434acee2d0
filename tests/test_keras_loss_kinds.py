"""Keras' cross-entropies on class probabilities (from_logits=False, its default) have a loss
kind: the value Keras computes (each row divided by its sum, clipped into [1e-7, 1 - 1e-7],
its log against the target class) is recognized on one-hot rows and on class indices, and
categorical_crossentropy with from_logits=True (cross_entropy against one-hot rows) is
cross_entropy. On d056fab none of the three was alike any torch loss."""

import torch
from torch import nn

from lossdoctor.capture.loss_likeness import alike_loss, named_alike
from lossdoctor.constant_guess import ConstantModel
from lossdoctor.losses import CLASSIFICATION, loss_kind


def _softmax_rows(rows=50, classes=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.softmax(torch.randn(rows, classes, generator=generator) * 3, dim=1)


def _keras_categorical(probabilities, one_hot):
    clipped = (probabilities / probabilities.sum(-1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
    return float(-(one_hot * clipped.log()).sum(-1).mean())


def test_keras_categorical_crossentropy_on_one_hot_rows_is_recognized():
    p = _softmax_rows()
    labels = torch.arange(50) % 3
    one_hot = nn.functional.one_hot(labels, 3).float()
    assert alike_loss(_keras_categorical(p, one_hot), p, one_hot) == "categorical_crossentropy"


def test_keras_sparse_categorical_crossentropy_on_class_indices_is_recognized():
    p = _softmax_rows()
    labels = torch.arange(50) % 3
    value = _keras_categorical(p, nn.functional.one_hot(labels, 3).float())
    assert alike_loss(value, p, labels) == "sparse_categorical_crossentropy"
    # Keras takes a trailing axis of size 1 off the labels, and whole-number float labels
    assert alike_loss(value, p, labels[:, None].float()) == "sparse_categorical_crossentropy"


def test_labels_of_a_selection_of_rows_are_not_scored_on_the_first_rows_of_the_output():
    """pygcn (bench/projects8) scores 140 training nodes of an 800-node output: a loss whose
    value the first 140 rows happen to give is not sparse_categorical_crossentropy."""
    p = _softmax_rows()
    labels = torch.arange(20) % 3
    value = _keras_categorical(p[:20], nn.functional.one_hot(labels, 3).float())
    assert alike_loss(value, p[:20], labels) == "sparse_categorical_crossentropy"
    assert alike_loss(value, p, labels) is None


def test_from_logits_on_one_hot_rows_is_cross_entropy():
    logits = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    one_hot = nn.functional.one_hot(torch.arange(50) % 3, 3).float()
    value = float(-(one_hot * torch.log_softmax(logits, 1)).sum(1).mean())
    assert alike_loss(value, logits, one_hot) == "cross_entropy"


def test_the_kinds_take_probabilities_of_several_classes_and_a_constant_ends_in_a_softmax():
    for name in ("categorical_crossentropy", "hand-written loss (like categorical_crossentropy)",
                 "nll_loss (like sparse_categorical_crossentropy)"):
        kind = loss_kind(name)
        assert kind is not None and kind.task == CLASSIFICATION
        assert kind.output == "probabilities" and not kind.binary
    constant = ConstantModel((3,), "categorical_crossentropy")
    rows = constant(torch.zeros(4, 8))
    assert rows.shape == (4, 3) and torch.allclose(rows.sum(1), torch.ones(4))


def test_near_uniform_softmax_rows_are_told_apart_by_the_nearer_value():
    """A softmax output near 1/3 everywhere (an untrained or over-regularized model) gives
    cross_entropy of its rows and Keras' categorical_crossentropy of them both near ln 3,
    within the likeness tolerance of each other: the loss is the one whose value is exact
    (the first listed, cross_entropy, was taken on 7ac2b5b)."""
    generator = torch.Generator().manual_seed(2)
    p = torch.softmax(torch.randn(50, 3, generator=generator) * 0.02, dim=1)
    one_hot = nn.functional.one_hot(torch.arange(50) % 3, 3).float()
    keras_value = _keras_categorical(p, one_hot)
    torch_value = float(nn.functional.cross_entropy(p, one_hot))
    assert abs(keras_value - torch_value) < 0.01 * keras_value
    assert alike_loss(keras_value, p, one_hot) == "categorical_crossentropy"
    assert alike_loss(torch_value, p, one_hot) == "cross_entropy"


def test_nll_loss_called_by_name_stays_nll_loss_on_near_uniform_log_probabilities():
    """Log-probabilities near ln(1/5) divided by their row sums are near 1/5 each, so Keras'
    sparse categorical cross-entropy of them gives nll_loss's value too (pygcn at chance)."""
    generator = torch.Generator().manual_seed(0)
    log_p = torch.log_softmax(0.05 * torch.randn(140, 5, generator=generator), dim=1)
    labels = torch.arange(140) % 5
    value = float(nn.functional.nll_loss(log_p, labels)) * 0.997  # a dropout draw away
    assert alike_loss(value, log_p, labels) == "sparse_categorical_crossentropy"
    assert alike_loss(value, log_p, labels, called="nll_loss") == "nll_loss"
    assert named_alike("nll_loss", alike_loss(value, log_p, labels, called="nll_loss")) == \
        "nll_loss"
