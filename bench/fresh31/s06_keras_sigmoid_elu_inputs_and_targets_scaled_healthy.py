# lossdoctor-expect:
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: http://stackoverflow.com.mevn.net/questions/52800582/why-do-i-fail-to-predict-y-x4-with-keras-y-x3-works
"""stackoverflow.com question 52800582 (stored as the mirror above), "Why do I fail to predict
y=x**4 with keras? (y=x**3 works)", with its answer applied: "The problem is that your input and
output variables have too large values and hence are not compatible with the (initial) weights of
the network ... The inputs are in the range [-100, 100] ... Because this is fed into a sigmoid
activation it is likely to saturate ... However the outputs are in the range of [-1e8, 1e8]."
s05 with the inputs divided by 100 (into [-1, 1]) and the targets by 1e8 (into [0, 1]); the
error is printed in those units. Keras 3 on the torch backend, seeded, 10 rounds of 300
full-batch epochs, no validation data as in the thread. Needs keras: run with
/work/venv-fw/bin/python (KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.layers import Activation, Dense
from keras.models import Sequential

keras.utils.set_random_seed(0)

x = np.arange(-100, 100, 0.5).astype("float32")
y = x**4
x = x / 100
y = y / 1e8

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
print('predictions at x = -1, 0, 1 (targets 1, 0, 1):', model.predict(np.array([-1.0, 0.0, 1.0], dtype="float32"), verbose=0)[:, 0])
