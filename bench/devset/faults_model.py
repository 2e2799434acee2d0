"""Fault operators on the model: size, activations, initialization, what trains."""

from __future__ import annotations

import random

from .operators import classification, every, family, operator, torch_module
from .program import Program

mlp_or_cnn = family("mlp", "cnn")


def _not_token(p: Program) -> bool:
    return p.data.kind != "token"


def _activation(name: str):
    def setup(p: Program, rng: random.Random) -> Program:
        return p.with_model(activation=name)
    setup.__doc__ = f"{name} activations"
    return setup


def _radial_task(p: Program, rng: random.Random) -> Program:
    """tabular labels that depend on a radius (nothing linear predicts them)"""
    return p.with_data(story=2) if p.data.kind == "tabular" else p


# underfit_capacity
@operator("underfit_capacity", "a linear model (no hidden layer) on a nonlinear task",
          applies=every(family("mlp"), _not_token), setup=_radial_task)
def linear_model(p: Program, rng: random.Random) -> Program:
    return p.with_model(depth=0)


@operator("underfit_capacity", "one hidden unit (or one filter, one recurrent unit)",
          applies=family("mlp", "cnn", "rnn"), setup=_radial_task)
def one_unit_bottleneck(p: Program, rng: random.Random) -> Program:
    return p.with_model(width=1)


@operator("underfit_capacity", "a single layer of two units",
          applies=every(mlp_or_cnn, _not_token), setup=_radial_task)
def two_unit_layer(p: Program, rng: random.Random) -> Program:
    return p.with_model(width=2, depth=1)


# saturated_activation
@operator("saturated_activation", "sigmoid hidden layers with weights drawn N(0, 2-4)",
          applies=mlp_or_cnn, setup=_activation("sigmoid"), also=("bad_init",))
def sigmoid_large_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("normal", round(rng.uniform(2.0, 4.0), 1)))


def _tanh(p: Program, rng: random.Random) -> Program:
    """tanh activations (a tanh RNN)"""
    if p.model.family == "rnn":
        return p.with_model(cell="rnn_tanh")
    return p.with_model(activation="tanh")


@operator("saturated_activation", "tanh units with weights drawn N(0, 2-4)",
          applies=family("mlp", "cnn", "rnn"), setup=_tanh, also=("bad_init",))
def tanh_large_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("normal", round(rng.uniform(2.0, 4.0), 1)))


# vanishing_gradients
@operator("vanishing_gradients", "a deep stack of sigmoid layers with default init",
          applies=every(mlp_or_cnn, _not_token))
def deep_sigmoid_stack(p: Program, rng: random.Random) -> Program:
    depth = rng.randrange(8, 12) if p.model.family == "mlp" else rng.randrange(6, 9)
    return p.with_model(activation="sigmoid", depth=depth, batchnorm=False)


@operator("vanishing_gradients", "a deep tanh MLP (10-14 layers) with tiny initial weights",
          applies=every(family("mlp"), _not_token), also=("bad_init",))
def deep_tanh_tiny_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(activation="tanh", depth=rng.randrange(10, 15), batchnorm=False,
                        init=("normal", 0.05))


# exploding_gradients
def _sgd(p: Program, rng: random.Random) -> Program:
    return p.with_train(optimizer="sgd", momentum=0.9, lr=round(rng.uniform(2e-3, 1e-2), 3))


def _irnn_with_clipping(p: Program, rng: random.Random) -> Program:
    """identity-initialized ReLU RNN, SGD with momentum, gradients clipped at norm 1"""
    return _sgd(p, rng).with_model(cell="rnn_relu", recurrent_identity=True).with_train(clip=1.0)


@operator("exploding_gradients", "an identity-initialized ReLU RNN trained without clipping",
          applies=family("rnn"), setup=_irnn_with_clipping)
def irnn_without_clipping(p: Program, rng: random.Random) -> Program:
    return p.with_train(clip=None)


def _deep_relu(p: Program, rng: random.Random) -> Program:
    """6-8 ReLU layers"""
    return p.with_model(activation="relu", depth=rng.randrange(6, 9), batchnorm=False)


@operator("exploding_gradients", "weights drawn N(0, 0.4-0.7): activations grow layer by layer",
          applies=every(family("mlp"), _not_token), setup=_deep_relu, also=("bad_init",))
def deep_relu_large_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("normal", round(rng.uniform(0.4, 0.7), 2)))


# dead_relu
def _relu_depth_two(p: Program, rng: random.Random) -> Program:
    """ReLU, at least two hidden layers"""
    return p.with_model(activation="relu", depth=max(2, p.model.depth), batchnorm=False)


@operator("dead_relu", "hidden biases initialized negative (-4 to -8)",
          applies=every(mlp_or_cnn, lambda p: p.model.depth > 0),
          setup=_activation("relu"))
def negative_bias_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(bias_init=-round(rng.uniform(4.0, 8.0), 1))


@operator("dead_relu", "weights drawn uniform in (-a, 0): every unit past the first is off",
          applies=mlp_or_cnn, setup=_relu_depth_two, also=("bad_init",))
def negative_weight_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("negative_uniform", round(rng.uniform(0.1, 0.5), 2)))


# bad_init
@operator("bad_init", "every weight drawn N(0, 1), no fan-in scaling")
def normal_std_one(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("normal", 1.0))


@operator("bad_init", "every weight drawn uniform in [-2, 2]")
def uniform_wide(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("uniform", 2.0))


@operator("bad_init", "output layer weights scaled up 100-500x: huge initial logits",
          applies=classification)
def output_layer_scaled(p: Program, rng: random.Random) -> Program:
    return p.with_model(head_scale=float(rng.randrange(100, 501, 50)))


@operator("bad_init", "every weight set to the same constant: the units stay identical",
          applies=mlp_or_cnn)
def constant_init(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("constant", round(rng.uniform(0.05, 0.2), 2)))


# train_eval_mode: dropout that model.eval() does not reach
def _functional_dropout(p: Program, rng: random.Random) -> Program:
    """F.dropout(x, DROPOUT, self.training) after each hidden layer, at 0.2-0.5"""
    return p.with_model(dropout=p.model.dropout or round(rng.uniform(0.2, 0.5), 2))


@operator("train_eval_mode", "F.dropout(x, p) without training=: its default (True) keeps the "
          "dropout on in eval mode", setup=_functional_dropout,
          applies=lambda p: p.model.style == "module_list" and p.model.depth > 0)
def functional_dropout_left_on(p: Program, rng: random.Random) -> Program:
    return p.with_model(dropout_always=True)


# frozen_params
@operator("frozen_params", "the optimizer is given only the output layer's parameters")
def optimizer_head_only(p: Program, rng: random.Random) -> Program:
    return p.with_model(trainable="head_only")


@operator("frozen_params", "every layer but the output frozen (requires_grad=False), untrained",
          applies=torch_module)
def freeze_untrained_body(p: Program, rng: random.Random) -> Program:
    return p.with_model(trainable="freeze_body")


@operator("frozen_params", "hidden layers kept in a Python list, not nn.ModuleList",
          applies=lambda p: p.model.style == "module_list" and p.model.depth > 0)
def layers_in_plain_list(p: Program, rng: random.Random) -> Program:
    return p.with_model(trainable="plain_list")


# Models written as plain tensors (session 16, s16-joint): Nielsen-style networks whose weights
# are made with torch.randn(..., requires_grad=True) and trained by plain SGD.
def _plain_tensor_mlp(p: Program) -> bool:
    return p.model.family == "mlp" and p.data.kind == "tabular"


def _plain_tensors_sgd(p: Program, rng: random.Random) -> Program:
    """a model written as plain tensors (x @ w + b, He init), trained by plain SGD at 0.01-0.05"""
    loss = p.loss.style if p.loss.style != "in_forward" else "module"
    return (p.with_model(style="raw", depth=max(p.model.depth, 1), dropout=0.0,
                         batchnorm=False)
            .with_loss(style=loss)
            .with_train(optimizer="sgd", momentum=0.0,
                        lr=float(f"{0.01 * 5 ** rng.random():.1g}")))


@operator("bad_init", "plain-tensor weights drawn N(0, 1) (torch.randn, no fan-in scaling)",
          applies=_plain_tensor_mlp, setup=_plain_tensors_sgd)
def plain_tensor_std_one(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("normal", 1.0))


@operator("bad_init", "plain-tensor weights drawn N(0, 1) and plain SGD at 2-5, too high for "
          "any start: each fix alone fails", applies=_plain_tensor_mlp, setup=_plain_tensors_sgd,
          also=("lr_too_high",))
def std_one_and_lr_too_high(p: Program, rng: random.Random) -> Program:
    return p.with_model(init=("normal", 1.0)).with_train(lr=float(rng.randrange(2, 6)))
