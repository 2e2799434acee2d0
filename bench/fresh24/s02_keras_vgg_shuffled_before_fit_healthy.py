# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""keras-team/keras#8346 (https://github.com/keras-team/keras/issues/8346): "Weird test accuracy
for VGG-like training". A VGG-like Keras CNN on five classes of images, the arrays stacked class
after class, fit(..., validation_split=0.2, shuffle=True): the validation accuracy stays at zero
and the validation loss climbs while training accuracy rises. The poster's own answer: "splitting
20% of data for validation takes the last 20% of the data which is in this case the whole class
5, and train all 4 first classes. The argument shuffle=True in fit() is executed after splitting
data not before"; fixed by shuffling the arrays by hand before fit(). Here Keras 3 on the torch
backend, synthetic 24x24 RGB images of five classes (each a texture and a colour, 240 per class,
stacked in class order as a folder-by-folder loader leaves them), the VGG-like stack smaller
(two conv blocks of 16 and 32 filters, Dense 64, dropout), SGD with momentum as in the Keras VGG
example. This is s01 with the fix applied: x and y shuffled together before fit(), so validation_split's
last 20% holds every class. Healthy. Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D  # noqa: E402

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
num_classes = 5
per_class = 240
size = 24


def make_class(label, n):
    """Images of one class: a stripe texture at the class's angle and a tint of its colour."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = np.pi * label / num_classes
    colour = np.eye(3)[label % 3] * 0.5 + 0.25 * (label // 3)
    images = []
    for _ in range(n):
        phase = rng.uniform(0, 2 * np.pi)
        stripes = np.sin(12 * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
        image = stripes[..., None] * 0.5 + colour[None, None, :]
        images.append(image + rng.normal(0, 0.35, (size, size, 3)))
    return np.stack(images).astype("float32")


# the images are loaded class by class, as from one folder per class
x_train = np.concatenate([make_class(c, per_class) for c in range(num_classes)])
y_train = keras.utils.to_categorical(np.repeat(np.arange(num_classes), per_class), num_classes)
# the fix: shuffle the arrays together before fit(), whose validation_split takes the last 20%
order = rng.permutation(len(x_train))
x_train, y_train = x_train[order], y_train[order]

model = keras.Sequential([
    Input(shape=(size, size, 3)),
    Conv2D(16, (3, 3), activation="relu", padding="same"),
    Conv2D(16, (3, 3), activation="relu", padding="same"),
    MaxPooling2D(pool_size=(2, 2)),
    Dropout(0.25),
    Conv2D(32, (3, 3), activation="relu", padding="same"),
    Conv2D(32, (3, 3), activation="relu", padding="same"),
    MaxPooling2D(pool_size=(2, 2)),
    Dropout(0.25),
    Flatten(),
    Dense(64, activation="relu"),
    Dropout(0.5),
    Dense(num_classes, activation="softmax"),
])
sgd = keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])

history = model.fit(x_train, y_train, batch_size=32, epochs=8, validation_split=0.2,
                    shuffle=True, verbose=2)
print("final val_loss %.3f val_accuracy %.3f" % (history.history["val_loss"][-1],
                                                  history.history["val_accuracy"][-1]))
