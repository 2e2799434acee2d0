"""Keras 3 model.fit on the torch backend, one output unit and binary_crossentropy.

``--raw`` leaves the output layer without its sigmoid: binary_crossentropy expects a
probability, and Keras clips the raw score into [1e-7, 1 - 1e-7] before its loss, so every
score outside (0, 1) costs the same and sends no gradient back.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tiny_data import BATCH, blobs  # noqa: E402

RAW = "--raw" in sys.argv
EPOCHS = 6

keras.utils.set_random_seed(0)
x_train, y_train, x_val, y_val = blobs(classes=2)
x_train, x_val = x_train * 4, x_val * 4  # raw scores start far outside (0, 1)
y_train, y_val = y_train.astype(np.float32), y_val.astype(np.float32)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(1, activation=None if RAW else "sigmoid")])
model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="binary_crossentropy")
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2,
                    validation_data=(x_val, y_val))
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
