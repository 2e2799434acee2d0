# lossdoctor-expect: unscaled_targets
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""keras-team/keras#4563 (https://github.com/keras-team/keras/issues/4563), "Very high / Nan loss
when performing multiple sequence time series regression": "I am training an LSTM model for
multiple time-series regression. But, my losses are always either very high or Nan ... the Y
values I am trying to predict are very high." The script: SGD(lr=0.0008, decay=1e-6,
momentum=0.9, nesterov=True); Sequential([LSTM(64, input_shape=(MAX_TIMESTEPS, MAX_FEATURES)),
Dropout(0.3), Dense(1)]); loss='mean_absolute_error'; model.fit(X_train, Y_train, batch_size=32,
nb_epoch=20, validation_split=0.2); model.evaluate on the test set. Here the same model in Keras 3
on the torch backend (SGD without decay, which Keras 3 dropped; epochs=20) on 1500 synthetic
sequences of 20 steps of 6 standardized features whose target is a sales-like figure around 20000
(driven by the last steps of the first two features), 300 test sequences. Needs keras: run with
/work/venv-fw/bin/python (KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.layers import LSTM, Dense, Dropout
from keras.models import Sequential
from keras.optimizers import SGD

keras.utils.set_random_seed(0)

MAX_TIMESTEPS = 20
MAX_FEATURES = 6
rng = np.random.default_rng(0)


def series(n):
    X = rng.normal(0, 1, size=(n, MAX_TIMESTEPS, MAX_FEATURES)).astype("float32")
    Y = 20000 + 4000 * X[:, -3:, 0].mean(1) - 3000 * X[:, -5:, 1].mean(1) + rng.normal(0, 300, size=n)
    return X, Y.astype("float32")


X_train, Y_train = series(1500)
X_test, Y_test = series(300)

sgd = SGD(learning_rate=0.0008, momentum=0.9, nesterov=True)
# Build the Keras Model
model = Sequential()
model.add(keras.Input(shape=(MAX_TIMESTEPS, MAX_FEATURES)))
model.add(LSTM(64))
model.add(Dropout(0.3))
model.add(Dense(1))
model.compile(loss='mean_absolute_error',
              optimizer=sgd)

print('Training the LSTM model')

batch_size = 32
model.fit(X_train, Y_train, batch_size=batch_size, epochs=20, validation_split=0.2, verbose=2)
mae = model.evaluate(X_test, Y_test, batch_size=batch_size, verbose=0)
print('test MAE %.1f (the spread of the targets: std %.1f)' % (mae, Y_test.std()))
