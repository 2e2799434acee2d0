"""Seeded synthetic data shared by the framework scripts, and the bugs they can be given.

``--bug lr`` multiplies the learning rate by 100, ``--bug labels`` shuffles the training labels,
``--bug scale`` multiplies the inputs by 1000; ``--no-val`` leaves the validation set out;
``--callback DIR`` trains with lossdoctor's callback for the framework, its report going to DIR.
"""

import sys

import numpy as np

BUG = sys.argv[sys.argv.index("--bug") + 1] if "--bug" in sys.argv else "none"
VALIDATE = "--no-val" not in sys.argv
CALLBACK_DIR = sys.argv[sys.argv.index("--callback") + 1] if "--callback" in sys.argv else None
LR = 0.01 * (100 if BUG == "lr" else 1)
EPOCHS = 12
BATCH = 50


def blobs(rows=2400, features=8, classes=3, seed=0):
    """Gaussian blobs: the class is which blob a point came from (float32 inputs, int64 labels),
    split 2000/400 into training and validation, with the bug applied."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, features))
    labels = rng.integers(0, classes, rows)
    points = (centers[labels] + rng.normal(size=(rows, features))).astype(np.float32)
    return with_bug(points[:2000], labels[:2000], points[2000:], labels[2000:], rng)


def tokens(rows=1200, length=12, vocab=32, seed=0):
    """Token sequences whose label is whether token 3 appears in them (about half do)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(4, vocab, (rows, length))
    has = rng.random(rows) < 0.5
    ids[has, rng.integers(0, length, has.sum())] = 3
    labels = has.astype(np.int64)
    cut = rows * 5 // 6
    return with_bug(ids[:cut], labels[:cut], ids[cut:], labels[cut:], rng)


def with_bug(x_train, y_train, x_val, y_val, rng):
    if BUG == "labels":
        y_train = rng.permutation(y_train)
    if BUG == "scale":
        x_train, x_val = x_train * 1000, x_val * 1000
    return x_train, y_train, x_val, y_val
