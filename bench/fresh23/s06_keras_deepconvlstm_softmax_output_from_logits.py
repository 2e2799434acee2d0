# lossdoctor-expect: loss_mismatch
# ruff: noqa: E501, E741, UP008, UP032, B007  (the threads' own idioms kept)
"""mmalekzadeh/dana#1 (https://github.com/mmalekzadeh/dana/issues/1): "Potential bug - Usage of
from_logits=True on the model that has softmax activated output". The repository's
Ordonez2016DeepOriginal (DeepConvLSTM: four Conv2D (5,1) layers over the sensor window, two
LSTMs with dropout, a Dense softmax head) is compiled with
SparseCategoricalCrossentropy(from_logits=True), so the loss applies a second softmax to
probabilities; the issue was closed by the author. Here Keras 3 on the torch backend, synthetic
tri-axial accelerometer windows (64 steps x 3 axes) of 6 activities (each a rhythm and a
posture), smaller layers (16 filters, LSTMs of 32), Adam, validation on a held-out split.
Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.layers import LSTM, Conv2D, Dense, Dropout, Input, Reshape  # noqa: E402

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
N_CLASSES, WINDOW, AXES = 6, 64, 3


def make_windows(n):
    y = rng.integers(0, N_CLASSES, n)
    t = np.arange(WINDOW)[None, :, None]
    freq = (0.5 + 0.35 * y)[:, None, None]
    posture = np.stack([np.cos(y * 1.1), np.sin(y * 1.1), 0.3 * np.cos(y * 2.3)], axis=1)[:, None, :]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, AXES))
    x = posture + 0.8 * np.sin(2 * np.pi * freq * t / 16 + phase) + rng.normal(0, 0.6, (n, WINDOW, AXES))
    return x[..., None].astype("float32"), y


x_train, y_train = make_windows(1500)
x_test, y_test = make_windows(500)


def Ordonez2016DeepOriginal(inp_shape, out_shape):
    nb_filters = 16
    drp_out_dns = .5
    nb_dense = 32

    inp = Input(inp_shape)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(inp)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(x)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(x)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(x)
    x = Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
    act = LSTM(nb_dense, return_sequences=True, activation='tanh', name="lstm_1")(x)
    act = Dropout(drp_out_dns, name="dot_1")(act)
    act = LSTM(nb_dense, activation='tanh', name="lstm_2")(act)
    act = Dropout(drp_out_dns, name="dot_2")(act)
    out_act = Dense(out_shape, activation='softmax', name="act_smx")(act)

    model = keras.models.Model(inputs=inp, outputs=out_act)
    return model


model = Ordonez2016DeepOriginal((WINDOW, AXES, 1), N_CLASSES)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=10, validation_data=(x_test, y_test), verbose=2)
