# lossdoctor-expect: loss_mismatch
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""keras-team/keras#10607 (https://github.com/keras-team/keras/issues/10607), "Why the
predict_proba() doesn't work": "I have a x_train with 34 dimension, which are some stock technical
indicator data. And y_train is label, which is binary(1,0) represent the stock is uptrend or
downtrend." The reporter's model: Sequential([Dense(512, relu, input_dim=34), Dense(200, relu),
Dense(200, relu), Dense(128, relu), Dense(1, activation='softmax')]), compiled with
optimizer='rmsprop', loss='binary_crossentropy', metrics=['binary_accuracy'], fit for 2 epochs of
batch 50 without validation data, then predict_proba on x_test ("However I got this: [[0.] [0.]
...]"). Here the same model in Keras 3 on the torch backend (keras.Input(shape=(34,)) in place of
input_dim, model.predict in place of predict_proba, which Keras 3 dropped) on 3000 synthetic days
of 34 standardized indicators whose trend label depends on a few of them, 600 test days scored at
the end. Needs keras: run with /work/venv-fw/bin/python (KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.layers import Dense
from keras.models import Sequential

keras.utils.set_random_seed(0)

rng = np.random.default_rng(0)
w = np.zeros(34)
w[:6] = [1.2, -0.9, 0.8, 0.6, -0.5, 0.4]


def days(n):
    x = rng.normal(size=(n, 34)).astype("float32")
    trend = x @ w + 0.3 * x[:, 6] * x[:, 7] + rng.normal(scale=0.6, size=n)
    return x, (trend > 0).astype("float32")


x_train, y_train = days(3000)
x_test, y_test = days(600)

model = Sequential()
model.add(keras.Input(shape=(34,)))
model.add(Dense(512, activation='relu'))
model.add(Dense(200, activation='relu'))
model.add(Dense(200, activation='relu'))
model.add(Dense(128, activation='relu'))
model.add(Dense(1, activation='softmax'))
model.compile(optimizer='rmsprop',
              loss='binary_crossentropy',
              metrics=['binary_accuracy'])

history = model.fit(x_train, y_train, epochs=2, batch_size=50, verbose=0)
for epoch, (loss, acc) in enumerate(zip(history.history['loss'], history.history['binary_accuracy'])):
    print('epoch %d: loss %.4f binary_accuracy %.4f' % (epoch + 1, loss, acc))

proba = model.predict(x_test, batch_size=50, verbose=0)
print(proba[:5])
test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=50, verbose=0)
print('test loss %.4f test binary_accuracy %.4f (share of uptrend days %.3f)' % (test_loss, test_acc, y_test.mean()))
