"""Fault operators on training: learning rate, optimizer, batches, regularization, the loop's
gradient resets and modes, and what the loss is given."""

from __future__ import annotations

import random

from .operators import every, family, operator, regression, torch_module
from .program import Program

ADAPTIVE = ("adam", "adamw", "rmsprop")


def _scaled_lr(p: Program, factor: float) -> Program:
    return p.with_train(lr=float(f"{p.train.lr * factor:.2g}"))


# lr_too_high
@operator("lr_too_high", "learning rate 300-3000x too high (a typo in the exponent)")
def lr_times_thousand(p: Program, rng: random.Random) -> Program:
    low, high = (300, 3000) if p.train.optimizer in ADAPTIVE else (30, 100)
    return _scaled_lr(p, rng.uniform(low, high))


@operator("lr_too_high", "SGD with momentum 0.9 at learning rate 1-5")
def sgd_huge_lr(p: Program, rng: random.Random) -> Program:
    return p.with_train(optimizer="sgd", momentum=0.9, lr=float(rng.randrange(1, 6)))


@operator("lr_too_high", "a one-cycle schedule whose peak learning rate is 1000x too high",
          also=("lr_schedule",))
def onecycle_peak_too_high(p: Program, rng: random.Random) -> Program:
    return _scaled_lr(p.with_train(schedule="onecycle"), 1000)


def _adaptive_on_tokens(p: Program, rng: random.Random) -> Program:
    """Adam or AdamW at its usual rate (the base's, 1e-3 to 5e-3)"""
    if p.train.optimizer in ("adam", "adamw"):
        return p
    optimizer = rng.choice(["adam", "adamw"])
    return p.with_train(optimizer=optimizer, momentum=0.0, lr=2e-3)


@operator("lr_too_high", "Adam or AdamW at a rate 10-50x too high on an embedding or "
          "transformer model over tokens: the loss sits at the constant guess (the fine-tuning "
          "recipe's 0.05 where 2e-3 trains)",
          applies=lambda p: p.data.kind == "token", setup=_adaptive_on_tokens)
def adam_tens_too_high_on_tokens(p: Program, rng: random.Random) -> Program:
    return _scaled_lr(p, rng.uniform(10, 50))


# lr_too_low
@operator("lr_too_low", "learning rate 1000-10000x too low")
def lr_divided(p: Program, rng: random.Random) -> Program:
    return _scaled_lr(p, 1 / rng.uniform(1e3, 1e4))


@operator("lr_too_low", "plain SGD at learning rate 1e-5 to 1e-4", also=("optimizer_choice",))
def sgd_tiny_lr(p: Program, rng: random.Random) -> Program:
    return p.with_train(optimizer="sgd", momentum=0.0, lr=float(f"{10 ** rng.uniform(-5, -4):.1g}"))


# lr_schedule: a schedule that decays the rate to about 0 while the loss still falls, or
# raises it into instability after the loss fell at the lower rate
def _exponential_schedule(p: Program, rng: random.Random) -> Program:
    """ExponentialLR(gamma=0.8) stepped once per epoch"""
    return p.with_train(schedule="exp_epoch")


@operator("lr_schedule", "an epoch scheduler (x0.8) stepped every batch: the rate collapses",
          setup=_exponential_schedule, also=("lr_too_low",))
def scheduler_stepped_per_batch(p: Program, rng: random.Random) -> Program:
    return p.with_train(schedule="exp_batch")


def _gentle_step_decay(p: Program, rng: random.Random) -> Program:
    """StepLR(step_size, gamma) stepped once per epoch, a mild decay over the epochs, whose
    gamma, stepped every batch instead, would bring the rate to a tenth at 30-45% of the run
    (and to 0.01-0.6% at its end: STGCN's StepLR(10, 0.95) in a run of a few hundred batches).
    Below a tenth at up to 37.5% of the run, it is below 1% with a quarter of the run left (a
    collapse); later, a gradual cut. A range of 40-65% (session 24, seeds 341000-341005) made no
    case: each broken run still learned more than half as much as its twin."""
    size = rng.choice([1, 2, 3, 5])
    gamma = 0.1 ** (size / (rng.uniform(0.3, 0.45) * _total_steps(p)))
    return p.with_train(schedule="steplr_epoch", step_size=size, gamma=float(f"{gamma:.4g}"))


@operator("lr_schedule", "a gentle epoch StepLR stepped every batch: the rate at a tenth of its "
          "peak by 30-45% of the run, 0.01-0.6% at its end", setup=_gentle_step_decay,
          also=("lr_too_low",))
def gentle_step_decay_stepped_per_batch(p: Program, rng: random.Random) -> Program:
    return p.with_train(schedule="steplr_batch")


# frozen_params: training that goes on without being applied
@operator("frozen_params", "optimizer.step() under an epoch condition: after the first third "
          "or quarter of the epochs, backward runs and nothing is updated",
          applies=lambda p: p.train.update == "optimizer" and p.train.epochs >= 4)
def step_only_in_first_epochs(p: Program, rng: random.Random) -> Program:
    return p.with_train(step_epochs=max(1, p.train.epochs // rng.choice([3, 4])))


def _linear_decay(p: Program, rng: random.Random) -> Program:
    """a linear decay to 0 over EPOCHS, stepped once per epoch"""
    return p.with_train(schedule="linear_epoch")


@operator("lr_schedule", "a linear decay over EPOCHS stepped every batch: the rate is 0 "
          "after the first few batches", setup=_linear_decay, also=("lr_too_low",))
def linear_decay_stepped_per_batch(p: Program, rng: random.Random) -> Program:
    return p.with_train(schedule="linear_batch")


def _total_steps(p: Program) -> int:
    return -(-p.data.n_train // p.train.batch_size) * p.train.epochs


def _warmup(p: Program, rng: random.Random) -> Program:
    """a linear warmup over the first 0.3-1% of the batches (at least 2), stepped every batch"""
    return p.with_train(schedule="warmup",
                        warmup_steps=max(2, round(_total_steps(p) * rng.uniform(0.003, 0.01))))


@operator("lr_schedule", "a warmup that never stops (min(..., 1) forgotten): the rate keeps "
          "growing, up to 100-300x the intended rate at the end", setup=_warmup,
          also=("lr_too_high",))
def warmup_never_capped(p: Program, rng: random.Random) -> Program:
    return p.with_train(schedule="warmup_uncapped")


def _step_decay(p: Program, rng: random.Random) -> Program:
    """StepLR(gamma=0.5) every third of the epochs"""
    return p.with_train(schedule="step")


@operator("lr_schedule", "StepLR with gamma=10 where 0.1 was meant: the rate grows 10x every "
          "third of the run", setup=_step_decay, also=("lr_too_high",))
def step_gamma_ten(p: Program, rng: random.Random) -> Program:
    return p.with_train(schedule="step_up")


# batch_size
@operator("batch_size", "the whole training set as one batch: one step per epoch")
def full_batch(p: Program, rng: random.Random) -> Program:
    return p.with_train(batch_size=p.data.n_train)


@operator("batch_size", "two batches per epoch")
def two_batches_per_epoch(p: Program, rng: random.Random) -> Program:
    return p.with_train(batch_size=p.data.n_train // 2 + 1)


def _batchnorm(p: Program, rng: random.Random) -> Program:
    """BatchNorm, no dropout, at most 600 rows and 5 epochs"""
    return p.with_model(batchnorm=True, dropout=0.0).with_data(
        n_train=min(p.data.n_train, 600)).with_train(epochs=min(p.train.epochs, 5))


@operator("batch_size", "BatchNorm trained on batches of 2",
          applies=every(family("mlp", "cnn"), lambda p: p.model.style in ("sequential", "module"),
                        lambda p: p.data.kind != "token"),
          setup=_batchnorm)
def batchnorm_tiny_batches(p: Program, rng: random.Random) -> Program:
    return p.with_train(batch_size=2)


# over_regularized
@operator("over_regularized", "weight decay 0.3-1 (AdamW: 5-20) where 1e-4 was meant")
def weight_decay_huge(p: Program, rng: random.Random) -> Program:
    decay = rng.uniform(5, 20) if p.train.optimizer == "adamw" else rng.uniform(0.3, 1.0)
    return p.with_train(weight_decay=round(decay, 2))


@operator("over_regularized", "dropout 0.8-0.9 after every hidden layer",
          applies=every(torch_module, lambda p: p.model.depth > 0))
def dropout_heavy(p: Program, rng: random.Random) -> Program:
    return p.with_model(dropout=round(rng.uniform(0.8, 0.9), 2))


@operator("over_regularized", "a hand-written L2 penalty with weight 0.05-0.5")
def hand_l2_penalty(p: Program, rng: random.Random) -> Program:
    return p.with_loss(l2=round(rng.uniform(0.05, 0.5), 2))


# optimizer_choice
@operator("optimizer_choice", "plain SGD (no momentum) at a usual rate (0.01-0.05)",
          also=("lr_too_low",))
def plain_sgd(p: Program, rng: random.Random) -> Program:
    return p.with_train(optimizer="sgd", momentum=0.0, lr=round(rng.uniform(0.01, 0.05), 2))


@operator("optimizer_choice", "Adam swapped for plain SGD at Adam's learning rate",
          applies=lambda p: p.train.optimizer in ADAPTIVE, also=("lr_too_low",))
def adam_to_sgd_same_lr(p: Program, rng: random.Random) -> Program:
    return p.with_train(optimizer="sgd", momentum=0.0)


# missing_zero_grad
@operator("missing_zero_grad", "no zero_grad call: gradients add up over every step")
def no_zero_grad(p: Program, rng: random.Random) -> Program:
    return p.with_train(zero_grad="none")


@operator("missing_zero_grad", "zero_grad once per epoch, outside the batch loop")
def zero_grad_once_per_epoch(p: Program, rng: random.Random) -> Program:
    return p.with_train(zero_grad="epoch")


# train_eval_mode
# Dropout at 0.5-0.7 over-regularizes a small regression MLP even when validation runs in eval
# mode (s19: one case's script with only the rate changed ended at 1.46 / 0.22 / 0.10 for 0.57 /
# 0.2 / 0), so the fixed twin would carry a second fault; regression gets a usual rate.
CLASSIFICATION_DROPOUT = (0.5, 0.7)
REGRESSION_DROPOUT = (0.1, 0.2)


def _dropout(p: Program, rng: random.Random) -> Program:
    """dropout 0.5-0.7 (0.1-0.2 on regression)"""
    low, high = REGRESSION_DROPOUT if p.data.task == "regression" else CLASSIFICATION_DROPOUT
    return p.with_model(dropout=max(p.model.dropout, round(rng.uniform(low, high), 2)))


def _mode_layer(p: Program, rng: random.Random) -> Program:
    """BatchNorm (MLPs and CNNs), else dropout (`_dropout`)"""
    if p.model.family in ("mlp", "cnn") and p.model.style in ("sequential", "module"):
        return p.with_model(batchnorm=True)
    return _dropout(p, rng)


@operator("train_eval_mode", "validated without model.eval(): dropout stays on",
          applies=every(torch_module, lambda p: p.data.has_val), setup=_dropout)
def no_eval_with_dropout(p: Program, rng: random.Random) -> Program:
    return p.with_train(modes="never")


@operator("train_eval_mode", "model.eval() and model.train() swapped",
          applies=every(torch_module, lambda p: p.data.has_val), setup=_mode_layer)
def modes_swapped(p: Program, rng: random.Random) -> Program:
    return p.with_train(modes="swapped")


# loss_mismatch
def _ce(p: Program) -> bool:
    return p.loss.kind == "ce"


@operator("loss_mismatch", "a softmax output layer fed to CrossEntropyLoss (softmax twice)",
          applies=_ce)
def softmax_then_cross_entropy(p: Program, rng: random.Random) -> Program:
    return p.with_model(head="softmax")


def _bce(p: Program, rng: random.Random) -> Program:
    """BCEWithLogitsLoss on one output"""
    return p.with_loss(kind="bce")


@operator("loss_mismatch", "a sigmoid output layer fed to BCEWithLogitsLoss",
          applies=lambda p: p.data.task == "binary",
          setup=_bce)
def sigmoid_then_bce_with_logits(p: Program, rng: random.Random) -> Program:
    return p.with_model(head="sigmoid")


@operator("loss_mismatch", "NLLLoss on raw logits (no log_softmax)", applies=_ce)
def nll_on_raw_logits(p: Program, rng: random.Random) -> Program:
    return p.with_loss(kind="nll_raw")


# shape_broadcast
def _shapes(shape: str):
    def setup(p: Program, rng: random.Random) -> Program:
        return p.with_loss(output_shape=shape, target_shape=shape)
    setup.__doc__ = f"predictions and targets both {'(N, 1)' if shape == 'column' else '(N,)'}"
    return setup


@operator("shape_broadcast", "predictions (N, 1) against targets (N,): the loss compares N x N",
          applies=regression, setup=_shapes("column"))
def column_output_flat_target(p: Program, rng: random.Random) -> Program:
    return p.with_loss(target_shape="flat")


@operator("shape_broadcast", "predictions (N,) against targets (N, 1): the loss compares N x N",
          applies=regression, setup=_shapes("flat"))
def flat_output_column_target(p: Program, rng: random.Random) -> Program:
    return p.with_loss(output_shape="flat", target_shape="column")


# A transform of the model's output written in the training loop, between the model and the
# loss (session 16, issue 11): the twin's loss is healthy but not the model's output itself.
def _outside_model(p: Program) -> bool:
    return _ce(p) and p.loss.style != "in_forward"


def _log_softmax_in_loop(p: Program, rng: random.Random) -> Program:
    """log_softmax applied in the training loop, then NLLLoss"""
    return p.with_loss(kind="nll_raw", outside="log_softmax")


@operator("loss_mismatch", "softmax (not log_softmax) applied in the training loop before "
          "NLLLoss: it is given probabilities", applies=_outside_model, setup=_log_softmax_in_loop)
def softmax_in_loop_then_nll(p: Program, rng: random.Random) -> Program:
    return p.with_loss(outside="softmax")


def _temperature_in_loop(p: Program, rng: random.Random) -> Program:
    """logits divided by a temperature of 2 in the training loop"""
    return p.with_loss(outside="temperature")


@operator("loss_mismatch", "softmax applied in the training loop before CrossEntropyLoss "
          "(softmax twice)", applies=_outside_model, setup=_temperature_in_loop)
def softmax_in_loop_then_cross_entropy(p: Program, rng: random.Random) -> Program:
    return p.with_loss(outside="softmax")


def _hand_mse_columns(p: Program, rng: random.Random) -> Program:
    """a hand-written squared error, predictions and targets both (N, 1)"""
    return p.with_loss(kind="mse", style="hand", output_shape="column", target_shape="column")


@operator("shape_broadcast", "a hand-written squared error of predictions (N, 1) against "
          "targets (N,): it compares N x N", applies=regression, setup=_hand_mse_columns)
def hand_mse_column_output_flat_target(p: Program, rng: random.Random) -> Program:
    return p.with_loss(target_shape="flat")


# lr_too_low (session 16): a conv net moved from Adam to SGD with momentum, keeping Adam's
# rate (issue 11: a heatmap detector with a hand-written focal loss, SGD momentum 0.9 at
# 1.25e-4 where 0.02 was needed, called healthy)
SGD_USUAL_LR = (5e-3, 2e-2)  # bases.LR_RANGE["sgd"]: where a healthy base trains with SGD


def _sgd_momentum_hand_loss(p: Program, rng: random.Random) -> Program:
    """SGD with momentum 0.9 at a usual rate (0.005-0.02) and a hand-written loss"""
    low, high = SGD_USUAL_LR
    lr = float(f"{low * (high / low) ** rng.random():.1g}")
    return p.with_train(optimizer="sgd", momentum=0.9, lr=lr).with_loss(style="hand")


@operator("lr_too_low", "SGD with momentum 0.9 at an adaptive optimizer's rate (1e-4 to 5e-4) "
          "on a conv net", applies=family("cnn"), setup=_sgd_momentum_hand_loss,
          also=("optimizer_choice",))
def sgd_momentum_at_adam_rate(p: Program, rng: random.Random) -> Program:
    return p.with_train(lr=float(f"{1e-4 * 5 ** rng.random():.2g}"))
