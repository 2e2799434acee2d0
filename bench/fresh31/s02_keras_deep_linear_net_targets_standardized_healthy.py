# lossdoctor-expect:
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://wiki.hoelee.com/content/stats.stackexchange.com_en_all_2022-05/questions/418955/why-is-deep-neural-net-with-linear-activation-diverges
"""stats.stackexchange.com question 418955 (stored as the mirror above), "Why is deep neural net
with linear activation diverges", with the reporter's own update applied: "UPD: It seems like this
particular behavior is caused by not scaled target variable. This matches my experiments, which
showed that the learning occurs only with very small learning rate." s01 with the target
standardized as the input is (y_normed = (y - y.mean()) / y.std()), fit and scored in those
units. Keras 3 on the torch backend, seeded, no validation data as in the thread. Needs keras: run
with /work/venv-fw/bin/python (KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.layers import Dense
from keras.models import Sequential

keras.utils.set_random_seed(0)

x = np.arange(100)[:, np.newaxis].astype("float32")
f = lambda x: x ** 2 + 3
y = f(x)
x_normed = (x - x.mean()) / x.std()
y_normed = (y - y.mean()) / y.std()

km = Sequential()
km.add(keras.Input(shape=(1,)))
km.add(Dense(1, activation=None))
km.add(Dense(1, activation=None))
km.compile('sgd', loss='mse')
history = km.fit(x_normed, y_normed, epochs=300, verbose=0)

for epoch, loss in enumerate(history.history['loss']):
    if epoch % 50 == 0 or epoch == 299:
        print('epoch %d: loss %.6g' % (epoch + 1, loss))
pred = km.predict(x_normed, verbose=0)
print('final mse %.6g (variance of y_normed %.6g)' % (np.mean((pred - y_normed) ** 2), y_normed.var()))
