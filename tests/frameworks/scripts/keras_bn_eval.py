"""Keras 3 on the torch backend, a BatchNormalization MLP trained with model.fit (no validation
set), then scored each epoch by the user's own loop on held-out rows one at a time, as a
deployment predicts them.

Default: the held-out rows are scored with ``model(x, training=True)``: BatchNormalization
normalizes each single row by its own statistics, which makes every feature 0, and updates its
moving statistics from the held-out rows. ``--fixed``: ``training=False``.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tiny_data import BATCH, blobs  # noqa: E402

TRAINING = "--fixed" not in sys.argv
EPOCHS = 6

keras.utils.set_random_seed(0)
x_train, y_train, x_val, y_val = blobs()
x_val, y_val = x_val[:200], y_val[:200]
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32),
                          keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
                          keras.layers.Dense(3, activation="softmax")])
loss = keras.losses.SparseCategoricalCrossentropy()
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)


class HeldOut(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        losses = [float(loss(y_val[i:i + 1], self.model(x_val[i:i + 1], training=TRAINING)))
                  for i in range(len(x_val))]
        print(f"epoch {epoch}: held-out loss {np.mean(losses):.4f}")


model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2, callbacks=[HeldOut()])
