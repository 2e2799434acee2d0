"""Keras 3 model.fit on the torch backend, a 3-class softmax output and one of Keras' probability
cross-entropies (``from_logits=False``, Keras' default), with the bugs Keras users make with it.

``--loss categorical|sparse`` picks categorical_crossentropy on one-hot labels or
sparse_categorical_crossentropy on class indices (default: categorical). ``--bug`` (tiny_data's
``labels``, ``lr``, ``scale``) and:

- ``--swapped-labels``: the labels in the form the other loss takes (class indices for
  categorical_crossentropy, one-hot rows for the sparse one);
- ``--logits-flag``: the softmax output given to a loss built with ``from_logits=True``, which
  applies another softmax;
- ``--no-softmax``: raw scores given to a loss that expects probabilities (``from_logits=False``);
- ``--sorted``: rows sorted by class and ``validation_split=0.2``: Keras holds out the last
  fifth, which is one class only.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tiny_data import BATCH, EPOCHS, blobs  # noqa: E402

LOSS = sys.argv[sys.argv.index("--loss") + 1] if "--loss" in sys.argv else "categorical"
LOGITS_FLAG = "--logits-flag" in sys.argv
SOFTMAX = "--no-softmax" not in sys.argv
SORTED = "--sorted" in sys.argv
ONE_HOT = (LOSS == "categorical") != ("--swapped-labels" in sys.argv)

keras.utils.set_random_seed(0)
x_train, y_train, x_val, y_val = blobs()
if SORTED:
    order = np.argsort(y_train, kind="stable")
    x_train, y_train = x_train[order], y_train[order]
if ONE_HOT:
    y_train, y_val = np.eye(3, dtype=np.float32)[y_train], np.eye(3, dtype=np.float32)[y_val]
if LOSS == "categorical":
    loss = keras.losses.CategoricalCrossentropy(from_logits=LOGITS_FLAG)
else:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=LOGITS_FLAG)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(3, activation="softmax" if SOFTMAX else None)])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
split = {"validation_split": 0.2} if SORTED else {"validation_data": (x_val, y_val)}
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2, **split)
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
