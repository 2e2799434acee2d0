# lossdoctor-expect: unscaled_targets
# ruff: noqa: E501, E731, UP008, UP031, UP032  (the threads' own idioms kept)
# source: https://wiki.hoelee.com/content/stats.stackexchange.com_en_all_2022-05/questions/418955/why-is-deep-neural-net-with-linear-activation-diverges
"""stats.stackexchange.com question 418955 (stored as the mirror above), "Why is deep neural net
with linear activation diverges": "Why is this toy example so difficult for neural net to learn?
My guess is that the output of the first hidden layer is not normalized, so propagated gradient is
not very stable. I've tried adding BatchNormalization between the two linear layers, but it has no
visible effect on the optimization." The reporter's code: x = np.arange(100), f = x ** 2 + 3,
x standardized, Sequential([Dense(1, activation=None), Dense(1, activation=None)]) compiled with
'sgd' and 'mse', fit for 300 epochs. Here the same code in Keras 3 on the torch backend
(keras.Input(shape=(1,)) added, verbose=0 and the loss printed every 50 epochs), seeded. No
validation data, as in the thread. Needs keras: run with /work/venv-fw/bin/python
(KERAS_BACKEND=torch)."""

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

km = Sequential()
km.add(keras.Input(shape=(1,)))
km.add(Dense(1, activation=None))
km.add(Dense(1, activation=None))
km.compile('sgd', loss='mse')
history = km.fit(x_normed, y, epochs=300, verbose=0)

for epoch, loss in enumerate(history.history['loss']):
    if epoch % 50 == 0 or epoch == 299:
        print('epoch %d: loss %.6g' % (epoch + 1, loss))
pred = km.predict(x_normed, verbose=0)
print('final mse %.6g (variance of y %.6g)' % (np.mean((pred - y) ** 2), y.var()))
