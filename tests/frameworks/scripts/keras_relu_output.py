"""Keras 3 model.fit on the torch backend, a regression whose output layer ends in a ReLU.

The output unit's weights start negative, and the hidden ReLUs give it inputs of 0 or more, so
its input is below 0 for every row from the start: the model outputs 0, no gradient reaches any
layer, and Adam's updates of all-zero gradients leave every weight as it was. ``--linear`` is
the fix (no activation on the output), from the same start.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tiny_data import BATCH  # noqa: E402

LINEAR = "--linear" in sys.argv
EPOCHS = 6

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(2400, 8)).astype(np.float32)
y = (x @ rng.normal(size=8) * 0.5 + 3.0 + rng.normal(0, 0.3, 2400)).astype(np.float32)
model = keras.Sequential([
    keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(1, activation=None if LINEAR else "relu",
                       kernel_initializer=keras.initializers.Constant(-0.1))])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mean_squared_error")
history = model.fit(x[:2000], y[:2000], epochs=EPOCHS, batch_size=BATCH, verbose=2,
                    validation_data=(x[2000:], y[2000:]))
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
