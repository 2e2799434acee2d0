"""Keras 3 model.fit on the torch backend: a Conv1D / Dense classifier of short sequences, every
layer's kernel given ``kernel_regularizer=l2(...)``, compiled with categorical_crossentropy on a
softmax output and one-hot labels. Keras adds the penalties to the loss it trains on.

``--l2 X`` sets the penalty's factor (default 1e-4, small: the model learns, about 70% accurate on
a 3-class task); ``--l2 0.1`` on every layer drives the weights to zero and the model to the
constant guess (validation loss ln 3 = 1.0986 from the fifth epoch on, accuracy 0.335), as in
keras-team/keras#7223. ``--l2 0`` leaves the regularizers out.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

FACTOR = float(sys.argv[sys.argv.index("--l2") + 1]) if "--l2" in sys.argv else 1e-4
EPOCHS = 8
BATCH = 50
CLASSES = 3


def sequences(rows=1200, length=16, channels=4, seed=0):
    """Noise sequences with one class's pattern added at a random place: the class is which."""
    rng = np.random.default_rng(seed)
    patterns = rng.normal(size=(CLASSES, 4, channels))
    labels = rng.integers(0, CLASSES, rows)
    x = rng.normal(size=(rows, length, channels))
    for row, label in enumerate(labels):
        at = rng.integers(0, length - 4)
        x[row, at:at + 4] += 0.7 * patterns[label]
    y = np.eye(CLASSES, dtype=np.float32)[labels]
    return x[:1000].astype(np.float32), y[:1000], x[1000:].astype(np.float32), y[1000:]


def regularizer():
    return keras.regularizers.l2(FACTOR) if FACTOR else None


keras.utils.set_random_seed(0)
x_train, y_train, x_val, y_val = sequences()
model = keras.Sequential([
    keras.Input((16, 4)),
    keras.layers.Conv1D(16, 3, padding="same", activation="relu",
                        kernel_regularizer=regularizer()),
    keras.layers.GlobalMaxPooling1D(),
    keras.layers.Dropout(0.1),  # its seed state is listed first, and last in a copy
    keras.layers.Dense(16, activation="relu", kernel_regularizer=regularizer()),
    keras.layers.Dense(CLASSES, activation="softmax", kernel_regularizer=regularizer()),
])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy",
              metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2,
                    validation_data=(x_val, y_val))
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
