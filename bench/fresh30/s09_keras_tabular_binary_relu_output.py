# lossdoctor-expect: loss_mismatch
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""keras-team/keras#4784 (https://github.com/keras-team/keras/issues/4784), "Accuracy not changing
across the epochs". The reporter's script: X = dataset[:, 0:106], Y = dataset[:, 106] from a
tab-separated Train.txt; Sequential([Dense(64, input_dim=106, init='uniform', activation='relu'),
Dense(32, init='uniform', activation='tanh'), Dense(12, init='uniform', activation='relu'),
Dense(8, init='uniform', activation='sigmoid'), Dense(1, init='uniform', activation='relu')]),
compiled with loss='binary_crossentropy', optimizer=SGD(lr=0.0001, momentum=0.4),
metrics=['accuracy'], fit for nb_epoch=100 with batch_size=300, then evaluated on the same data.
Here the same model in Keras 3 on the torch backend (init='uniform' is Keras 1's RandomUniform(-0.05,
0.05), given as kernel_initializer; keras.Input(shape=(106,)) in place of input_dim; epochs in place
of nb_epoch) on 6000 synthetic rows of 106 features (a few of them carrying the 0/1 label, about
40% ones), 100 epochs of batch 300. Needs keras: run with /work/venv-fw/bin/python
(KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy
from keras.initializers import RandomUniform
from keras.layers import Dense
from keras.models import Sequential
from keras.optimizers import SGD

keras.utils.set_random_seed(0)

rng = numpy.random.default_rng(0)
n = 6000
X = rng.normal(size=(n, 106)).astype("float32")
score = X[:, :8] @ numpy.array([1.0, -0.8, 0.7, 0.6, -0.5, 0.5, 0.4, -0.4]) + rng.normal(scale=0.7, size=n)
Y = (score > 0.35).astype("float32")
dataset = numpy.concatenate([X, Y[:, None]], axis=1)

# split into input (X) and output (Y) variables
X = dataset[:, 0:106]
Y = dataset[:, 106]


def uniform():
    return RandomUniform(minval=-0.05, maxval=0.05)


model = Sequential()
model.add(keras.Input(shape=(106,)))
model.add(Dense(64, kernel_initializer=uniform(), activation='relu'))
model.add(Dense(32, kernel_initializer=uniform(), activation='tanh'))
model.add(Dense(12, kernel_initializer=uniform(), activation='relu'))
model.add(Dense(8, kernel_initializer=uniform(), activation='sigmoid'))
model.add(Dense(1, kernel_initializer=uniform(), activation='relu'))
# Compile model
optimizer = SGD(learning_rate=0.0001, momentum=0.4)
model.compile(loss='binary_crossentropy', optimizer=optimizer, metrics=['accuracy'])

# Fit the model
history = model.fit(X, Y, epochs=100, batch_size=300, verbose=0)
for epoch in (0, 9, 49, 99):
    print('epoch %d: loss %.4f accuracy %.4f' % (epoch + 1, history.history['loss'][epoch], history.history['accuracy'][epoch]))

# evaluate the model
scores = model.evaluate(X, Y, verbose=0)
print("%s: %.2f%% (share of ones %.3f)" % (model.metrics_names[1], scores[1] * 100, Y.mean()))
