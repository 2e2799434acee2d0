"""Keras 3 model.fit on the torch backend, two classes, a final Dense(1) with a ReLU before the
sigmoid that binary cross-entropy takes.

``--in-loss``: Dense(1, activation='relu') and BinaryCrossentropy(from_logits=True), whose
sigmoid of a ReLU's output is never below 0.5; default: Dense(1, activation='relu') followed
by Activation('sigmoid') and binary_crossentropy. ``--fixed``: no ReLU on the output unit.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tiny_data import BATCH, blobs  # noqa: E402

IN_LOSS = "--in-loss" in sys.argv
FIXED = "--fixed" in sys.argv
EPOCHS = 8

keras.utils.set_random_seed(0)
x_train, y_train, x_val, y_val = blobs(classes=2)
y_train, y_val = y_train.astype(np.float32), y_val.astype(np.float32)
last = [keras.layers.Dense(1, activation=None if FIXED else "relu")]
if not IN_LOSS:
    last.append(keras.layers.Activation("sigmoid"))
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), *last])
model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
              loss=keras.losses.BinaryCrossentropy(from_logits=IN_LOSS))
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2,
                    validation_data=(x_val, y_val))
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
