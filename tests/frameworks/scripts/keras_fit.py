"""Keras 3 model.fit on the torch backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from tiny_data import BATCH, CALLBACK_DIR, EPOCHS, LR, VALIDATE, blobs  # noqa: E402

keras.utils.set_random_seed(0)
x_train, y_train, x_val, y_val = blobs()
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3)])
model.compile(optimizer=keras.optimizers.Adam(LR),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
callbacks = []
if CALLBACK_DIR:
    from lossdoctor.integrations.keras import LossDoctorCallback

    callbacks.append(LossDoctorCallback(log_dir=CALLBACK_DIR))
history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=2,
                    validation_data=(x_val, y_val) if VALIDATE else None, callbacks=callbacks)
print("final", {k: round(v[-1], 4) for k, v in history.history.items()})
