# lossdoctor-expect: unnormalized_inputs
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: http://stackoverflow.com.mevn.net/questions/52800582/why-do-i-fail-to-predict-y-x4-with-keras-y-x3-works
"""stackoverflow.com question 52800582 (stored as the mirror above), "Why do I fail to predict
y=x**4 with keras? (y=x**3 works)": "I managed to predict y=x**2 and y=x**3 but equations like
y=x**4, y=x**5 or y=x**7 converge only to inaccurate lines? What am I doing wrong? What can I
improve?" The reporter's code: x = np.arange(-100, 100, 0.5), y = x**4, Sequential([Dense(50,
input_shape=(1,)), Activation('sigmoid'), Dense(50), Activation('elu'), Dense(1)]) compiled with
'mse' and 'adam', then 100 rounds of model.fit(x, y, epochs=1000, batch_size=len(x)) each
followed by the mean squared error of model.predict(x) (and a plot). Here Keras 3 on the torch
backend (keras.Input in place of input_shape), seeded, 10 rounds of 300 full-batch epochs in
place of 100 of 1000 (the CPU budget), the error printed instead of plotted. No validation data,
as in the thread. Needs keras: run with /work/venv-fw/bin/python (KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.layers import Activation, Dense
from keras.models import Sequential

keras.utils.set_random_seed(0)

x = np.arange(-100, 100, 0.5).astype("float32")
y = x**4

model = Sequential()
model.add(keras.Input(shape=(1,)))
model.add(Dense(50))
model.add(Activation('sigmoid'))
model.add(Dense(50))
model.add(Activation('elu'))
model.add(Dense(1))
model.compile(loss='mse', optimizer='adam')

for i in range(10):
    model.fit(x, y, epochs=300, batch_size=len(x), verbose=0)
    predictions = model.predict(x, verbose=0)[:, 0]
    print(i, " ", np.mean(np.square(predictions - y)))

print('variance of y', np.var(y))
print('predictions at x = -100, 0, 100:', model.predict(np.array([-100.0, 0.0, 100.0], dtype="float32"), verbose=0)[:, 0])
