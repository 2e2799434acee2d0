# lossdoctor-expect: label_range
# ruff: noqa: E501, E731, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Stack Overflow question 58887284 (mirrored at
https://codewithsundeep.com/discussion/solution/58887284; the original's address is not stored):
"For the experimental purpose, I use tf.keras to build a neural network with one neuron attached to
sigmoid. The target curve to learn is f = lambda x: - 1./(np.exp(10.*x)+1.)" sampled at 111 points
of np.linspace(-1, 1, 111), 11 test points; Sequential([Dense(1, activation='sigmoid',
input_shape=(1,), use_bias=True)]), Adam(0.01), loss 'mse', metric MeanAbsoluteError; "it does not
learn the curve". Here the same model in Keras 3 on the torch backend, trained with model.fit for
500 epochs (the question does not show its fit call; Keras' default batch of 32), no validation
set, the test points scored at the end. Needs keras: run with /work/venv-fw/bin/python
(KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

keras.utils.set_random_seed(0)

# target function
f = lambda x: - 1./(np.exp(10.*x)+1.)

# creat training data
x_train = np.linspace(-1, 1, 111).reshape(-1, 1).astype("float32")
y_train = f(x_train).astype("float32")
# test data
x_test = np.linspace(-1, 1, 11).reshape(-1, 1).astype("float32")
y_test = f(x_test).astype("float32")

model = keras.models.Sequential([
    keras.Input(shape=(1,)),
    keras.layers.Dense(1, activation='sigmoid', use_bias=True)
])
model.compile(optimizer=keras.optimizers.Adam(0.01),
              loss='mse',
              metrics=['MeanAbsoluteError'])

history = model.fit(x_train, y_train, epochs=500, verbose=0)
for epoch in (0, 99, 199, 299, 399, 499):
    print("epoch %d loss %.5f mae %.5f" % (epoch + 1, history.history["loss"][epoch], history.history["MeanAbsoluteError"][epoch]))

y_pred = model.predict(x_test, verbose=0)
print("test mse %.5f" % float(np.mean((y_pred - y_test) ** 2)))
for xt, yt, yp in zip(x_test[:, 0], y_test[:, 0], y_pred[:, 0]):
    print("x %+.1f true %+.4f predict %+.4f" % (xt, yt, yp))
