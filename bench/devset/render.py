"""Assemble a program's parts into one standalone, seeded training script."""

from __future__ import annotations

import re

from . import data, loop, losses, model
from .program import Program

#: Variable names for the training and validation rows, by naming style.
NAMINGS = [
    {},
    {"x_train": "X_tr", "y_train": "y_tr", "x_val": "X_va", "y_val": "y_va"},
    {"x_train": "train_x", "y_train": "train_y", "x_val": "val_x", "y_val": "val_y"},
]
TITLES = {
    ("tabular", 0): "Churn prediction from account features",
    ("tabular", 1): "Plant yield from soil measurements",
    ("tabular", 2): "Fault zones from stress readings",
    ("image", 0): "Scratches on photos of parts",
    ("image", 1): "Bright cells in microscope frames",
    ("sequence", 0): "Sensor level trends",
    ("sequence", 1): "Machine vibration",
    ("token", 0): "Topics of short reviews",
    ("token", 1): "Word order in token sequences",
}
FAMILY_WORDS = {"mlp": "an MLP", "cnn": "a small CNN", "rnn": "a recurrent network",
                "transformer": "a small transformer"}


def render(p: Program) -> str:
    """The whole script as text, ending in a newline."""
    body = _body(p)
    text = "\n".join([_docstring(p), "", *_imports(body), "", *body]) + "\n"
    return rename(text, p.naming)


def rename(text: str, naming: int) -> str:
    for old, new in NAMINGS[naming].items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


def target_names(p: Program) -> tuple[str, str | None]:
    """The script's names for the training and validation targets."""
    names = NAMINGS[p.naming]
    return names.get("y_train", "y_train"), (names.get("y_val", "y_val")
                                             if p.data.has_val else None)


def _docstring(p: Program) -> str:
    title = TITLES[(p.data.kind, p.data.story)]
    task = {"binary": "yes/no", "multiclass": f"{p.data.classes}-way",
            "regression": "regression"}[p.data.task]
    return (f'"""{title} ({task}): {FAMILY_WORDS[p.model.family]}, '
            f'{_optimizer_words(p)}, {p.train.epochs} epochs."""')


def _optimizer_words(p: Program) -> str:
    name = loop.OPTIMIZER[p.train.optimizer]
    return f"{name} written by hand" if p.train.update == "manual" else name


def _imports(body: list[str]) -> list[str]:
    text = "\n".join(body)
    lines = ["import torch", "from torch import nn"]
    if "F." in text:
        lines.insert(1, "import torch.nn.functional as F")
    loaders = [name for name in ("DataLoader", "Dataset", "TensorDataset")
               if re.search(rf"\b{name}\b", text)]
    if loaders:
        lines.append(f"from torch.utils.data import {', '.join(loaders)}")
    return lines


def _body(p: Program) -> list[str]:
    loss_def = losses.definition(p)
    hand_loss = loss_def if p.loss.style == "hand" else []
    loss_module = loss_def if p.loss.style == "module" else []
    sections = [
        [f"torch.manual_seed({p.seed})", "", *data.constants(p), *model.constants(p),
         *loop.constants(p)],
        data.generator(p),
        data.loading(p),
        loop.batches(p),
        hand_loss,
        model.definition(p),
        [*loss_module, *loop.optimizer(p)],
        loop.training_loop(p),
    ]
    lines: list[str] = []
    for section in sections:
        if section:
            gap = ["", ""] if section[0].startswith(("def ", "class ")) or (
                lines and lines[-1].startswith("    ")) else [""]
            lines += (gap if lines else []) + section
    return lines
