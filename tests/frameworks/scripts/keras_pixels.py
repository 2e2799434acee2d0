"""Keras 3 model.fit on the torch backend, a small CNN on 16 x 16 grey images whose class is
where a bright bar lies (four places), with pixel values 0-255 as an image file gives them.

Default: the pixels given as they are (0-255); ``--fixed``: divided by 255.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

FIXED = "--fixed" in sys.argv
EPOCHS = 8


def images(rows, rng):
    labels = rng.integers(0, 4, rows)
    pixels = rng.normal(90, 40, (rows, 16, 16, 1))
    for row, label in enumerate(labels):
        top, left = divmod(int(label), 2)
        pixels[row, 8 * top + 2:8 * top + 6, 8 * left:8 * left + 8] += 70
    return np.clip(pixels, 0, 255).round().astype(np.float32), labels


keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x_train, y_train = images(1600, rng)
x_val, y_val = images(400, rng)
if FIXED:
    x_train, x_val = x_train / 255.0, x_val / 255.0
model = keras.Sequential([
    keras.Input((16, 16, 1)),
    keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(4, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=50, verbose=2,
                    validation_data=(x_val, y_val))
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
