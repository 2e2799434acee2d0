# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""keras-team/keras#7648 (https://github.com/keras-team/keras/issues/7648): "Why the loss value
changes greatly between epochs?". The poster ran Keras' examples/mnist_cnn.py (Conv2D(32, 3,
relu), Conv2D(64, 3, relu), MaxPooling2D(2), Dropout(0.25), Flatten, Dense(128, relu),
Dropout(0.5), Dense(10, softmax); categorical_crossentropy, Adadelta, batch_size=128, 12 epochs,
validation on the test set) and saw the progress bar end epoch 1 at loss 0.34 with val_loss 0.079,
then start epoch 2 at 0.09. Here the same example in Keras 3 on the torch backend, on 2000
synthetic 28x28 "digits" (ten stroke patterns with heavy noise and shifts) and 500 test images, 4
epochs, Adadelta at Keras 3's learning_rate=1.0 (the example's Keras 2 default), verbose=2 so
each epoch prints its averaged loss and val_loss. Needs keras: run with /work/venv-fw/bin/python
(KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

batch_size = 128
num_classes = 10
epochs = 4
img_rows, img_cols = 28, 28

templates = np.zeros((num_classes, img_rows, img_cols), dtype=np.float32)
for k in range(num_classes):
    for s in range(3):
        r0, c0 = rng.integers(4, 20, size=2)
        dr, dc = rng.integers(-1, 2, size=2)
        for t in range(8):
            r, c = np.clip(r0 + dr * t, 0, 27), np.clip(c0 + dc * t, 0, 27)
            templates[k, max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = 1.0


def make_digits(n):
    y = rng.integers(0, num_classes, size=n)
    x = np.empty((n, img_rows, img_cols), dtype=np.float32)
    for i, k in enumerate(y):
        shifted = np.roll(templates[k], tuple(rng.integers(-3, 4, size=2)), axis=(0, 1))
        x[i] = np.clip(shifted + rng.normal(0, 0.7, size=(img_rows, img_cols)), 0, 1)
    return x, y


x_train, y_train = make_digits(2000)
x_test, y_test = make_digits(500)
x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
input_shape = (img_rows, img_cols, 1)
print("x_train shape:", x_train.shape)

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential()
model.add(keras.Input(shape=input_shape))
model.add(layers.Conv2D(32, kernel_size=(3, 3), activation="relu"))
model.add(layers.Conv2D(64, (3, 3), activation="relu"))
model.add(layers.MaxPooling2D(pool_size=(2, 2)))
model.add(layers.Dropout(0.25))
model.add(layers.Flatten())
model.add(layers.Dense(128, activation="relu"))
model.add(layers.Dropout(0.5))
model.add(layers.Dense(num_classes, activation="softmax"))

model.compile(loss=keras.losses.categorical_crossentropy, optimizer=keras.optimizers.Adadelta(learning_rate=1.0), metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=2, validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
