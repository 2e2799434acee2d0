"""Base programs: a healthy training script of a random shape, drawn from a case seed.

The shape covers the issue's list: `nn.Sequential`, `nn.Module` classes and raw tensors; loss
modules, functional and hand-written losses, the loss inside `forward`; DataLoaders, dict
batches and manual slicing; with and without a validation set; LR schedules; MLPs, CNNs, RNNs
and transformers on tabular, image, sequence and token data; classification and regression.
Sizes and hyperparameters are drawn in ranges where a healthy run learns in a few seconds."""

from __future__ import annotations

import random

from .program import Data, Loss, Model, Program, Training

FAMILIES = {"tabular": ["mlp"], "image": ["cnn", "cnn", "mlp"],
            "sequence": ["rnn", "rnn", "cnn", "mlp"], "token": ["transformer", "rnn", "mlp"]}
KINDS = ["tabular", "tabular", "image", "sequence", "token"]
#: Healthy learning rates by optimizer (log-uniform between the two).
LR_RANGE = {"adam": (1e-3, 5e-3), "adamw": (1e-3, 5e-3), "sgd": (5e-3, 2e-2),
            "rmsprop": (5e-4, 2e-3)}
#: Share of base programs that keep no validation set.
NO_VALIDATION_SHARE = 0.15


def draw_base(seed: int, rng: random.Random) -> Program:
    kind = rng.choice(KINDS)
    family = rng.choice(FAMILIES[kind])
    data = _data(kind, family, rng)
    mdl = _model(family, kind, rng)
    loss = _loss(data, mdl, rng)
    train = _training(data, family, rng)
    return Program(seed=seed, data=data, model=mdl, loss=loss, train=train,
                   naming=rng.randrange(3))


def _data(kind: str, family: str, rng: random.Random) -> Data:
    task = rng.choice(["binary", "multiclass", "regression"])
    stories = {"tabular": 3, "image": 2, "sequence": 2, "token": 2}[kind]
    story = rng.randrange(stories)
    if kind == "token" and (task != "binary" or family == "mlp"):
        story = 0  # word order is a yes/no question a bag of words cannot answer
    classes = {"binary": 2, "multiclass": 3, "regression": 1}[task]
    if task == "multiclass" and (kind == "image" or (kind == "tabular" and story == 1)):
        classes = rng.choice([3, 4])
    n_train = rng.randrange(*{"tabular": (1000, 2400), "image": (600, 1000),
                              "sequence": (700, 1400), "token": (900, 1600)}[kind])
    n_val = 0 if rng.random() < NO_VALIDATION_SHARE else rng.randrange(300, 600)
    features = {"tabular": rng.randrange(6, 17), "image": rng.choice([12, 14, 16]),
                "sequence": rng.randrange(1, 4), "token": rng.randrange(8, 21)}[kind]
    length = {"sequence": rng.randrange(16, 33), "token": rng.randrange(8, 17)}.get(kind, 0)
    noise = {"tabular": rng.uniform(0.1, 0.4), "image": rng.uniform(0.08, 0.2),
             "sequence": rng.uniform(0.2, 0.4), "token": 0.0}[kind]
    units = "raw" if kind in ("tabular", "sequence") and rng.random() < 0.5 else "unit"
    norm = "standardize" if units == "raw" or kind == "image" or rng.random() < 0.5 else "none"
    target_units = (0.0, 1.0)
    if task == "regression" and rng.random() < 0.5:
        target_units = (round(rng.uniform(0, 50), 1), round(rng.uniform(1, 20), 1))
    return Data(kind=kind, task=task, classes=classes, story=story, n_train=n_train,
                n_val=n_val, features=features, length=length, noise=round(noise, 3),
                input_units=units, input_norm=norm, target_units=target_units,
                target_norm="standardize" if target_units != (0.0, 1.0) or rng.random() < 0.5
                else "none")


def _model(family: str, kind: str, rng: random.Random) -> Model:
    styles = {"mlp": {"tabular": ["sequential", "module", "module_list", "raw"],
                      "token": ["module"]}.get(kind, ["sequential", "module", "module_list"]),
              "cnn": ["sequential", "module"], "rnn": ["module"], "transformer": ["module"]}
    style = rng.choice(styles[family])
    width = {"mlp": rng.choice([32, 48, 64, 96]), "cnn": rng.choice([8, 12, 16]),
             "rnn": rng.choice([16, 24, 32, 48]), "transformer": rng.choice([16, 32])}[family]
    depth = {"mlp": rng.randrange(1, 4), "cnn": rng.randrange(1, 3), "rnn": 1,
             "transformer": rng.randrange(1, 3)}[family]
    activation = rng.choice(["relu", "relu", "gelu", "leaky_relu"] if family != "transformer"
                            else ["relu", "gelu"])
    mode_layers = style != "raw" and rng.random() < 0.35
    dropout = round(rng.uniform(0.1, 0.3), 2) if mode_layers and rng.random() < 0.6 else 0.0
    batchnorm = mode_layers and not dropout and family in ("mlp", "cnn") and style != "module_list"
    return Model(family=family, style=style, width=width, depth=depth, activation=activation,
                 dropout=dropout, batchnorm=batchnorm,
                 cell=rng.choice(["gru", "gru", "lstm"]))


def _loss(data: Data, mdl: Model, rng: random.Random) -> Loss:
    if data.task == "regression":
        kind = rng.choice(["mse", "mse", "mse", "l1", "huber"])
    elif data.task == "binary":
        kind = rng.choice(["ce", "bce"])
    else:
        kind = "ce"
    styles = ["module", "module", "functional", "hand"]
    if mdl.style in ("module", "module_list"):
        styles.append("in_forward")
    shape = rng.choice(["column", "flat"])
    return Loss(kind=kind, style=rng.choice(styles), output_shape=shape, target_shape=shape)


def _training(data: Data, family: str, rng: random.Random) -> Training:
    optimizer = rng.choice(["adam", "adam", "adamw", "sgd", "rmsprop"])
    if family in ("transformer", "rnn") and optimizer == "sgd":
        optimizer = "adam"
    low, high = LR_RANGE[optimizer]
    lr = float(f"{low * (high / low) ** rng.random():.1g}")
    epochs = {"tabular": rng.randrange(10, 20), "image": rng.randrange(6, 10),
              "sequence": rng.randrange(8, 13), "token": rng.randrange(6, 11)}[data.kind]
    return Training(
        optimizer=optimizer, lr=lr, epochs=epochs, batch_size=rng.choice([32, 64, 64]),
        batching=rng.choice(["loader", "loader", "dict", "slice"]),
        momentum=0.9 if optimizer == "sgd" else 0.0,
        schedule=rng.choice(["none", "none", "step", "cosine", "onecycle"]),
        clip=1.0 if family == "rnn" and rng.random() < 0.3 else None,
        print_style=rng.randrange(3))
