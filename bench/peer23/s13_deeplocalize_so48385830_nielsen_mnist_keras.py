# lossdoctor-expect: lr_too_high, underfit_capacity
"""DeepLocalize's benchmark case Stack Overflow 48385830 (Wardat-ISU/DeepLocalize,
Benchmark/StackOverflow/48385830/Buggy Code/48385830.py; https://stackoverflow.com/questions/48385830):
a Keras port of Nielsen's 784-30-10 MNIST network (weights and biases drawn from N(0, 1), SGD at
3.0, mean squared error on one-hot labels, batches of 10) that does not learn. Ported to Keras 3 on
the torch backend (the DeepLocalize callback and the timing left out); MNIST is replaced by small
synthetic 28x28 digits made here (no download), 2,000 training and 500 test images, 10 epochs
instead of 30. Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.initializers import RandomNormal  # noqa: E402
from keras.layers import Dense  # noqa: E402
from keras.models import Sequential  # noqa: E402
from keras.optimizers import SGD  # noqa: E402


def make_digits(n, seed, classes=10, size=28):
    """n grey images (uint8, like MNIST's) of `classes` stroke patterns, shifted and noisy."""
    rng = np.random.default_rng(1234)  # the same patterns for every split
    patterns = np.zeros((classes, size + 8, size + 8), dtype=np.float32)
    for c in range(classes):
        for _ in range(3):
            x0, y0, x1, y1 = rng.uniform(8, size, 4)
            for t in np.linspace(0, 1, 40):
                x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
                patterns[c, y - 1:y + 2, x - 1:x + 2] = 1.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = np.empty((n, size, size), dtype=np.uint8)
    for i, c in enumerate(labels):
        dx, dy = rng.integers(0, 9, 2)
        img = patterns[c, dy:dy + size, dx:dx + size] * rng.uniform(0.6, 1.0)
        img = img + rng.normal(0, 0.25, img.shape)
        images[i] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return images, labels


def load_data():
    """Stands in for keras.datasets.mnist.load_data()."""
    return make_digits(2000, seed=1), make_digits(500, seed=2)


keras.utils.set_random_seed(0)
batch_size = 10
# import data
(x_train, y_train), (x_test, y_test) = load_data()

# input image dimensions
img_rows, img_cols = 28, 28

x_train = x_train.reshape(x_train.shape[0], img_rows * img_cols)
x_test = x_test.reshape(x_test.shape[0], img_rows * img_cols)
input_shape = (img_rows * img_cols,)

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255
print('x_train shape:', x_train.shape)
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')

# convert class vectors to binary class matrices
num_classes = 10
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
print('y_train shape:', y_train.shape)

# Construct model
# 784 * 30 * 10
# Normal distribution for weights/biases
# Stochastic Gradient Descent optimizer
# Mean squared error loss (cost function)
model = Sequential()
layer1 = Dense(30,
               input_shape=input_shape,
               kernel_initializer=RandomNormal(stddev=1),
               bias_initializer=RandomNormal(stddev=1))
model.add(layer1)
layer2 = Dense(10,
               kernel_initializer=RandomNormal(stddev=1),
               bias_initializer=RandomNormal(stddev=1))
model.add(layer2)

model.summary()
model.compile(optimizer=SGD(learning_rate=3.0),
              loss='mean_squared_error',
              metrics=['accuracy'])

# Train
model.fit(x_train,
          y_train,
          batch_size=10,
          epochs=10,
          verbose=2)

# Run on test data and output results
result = model.evaluate(x_test,
                        y_test,
                        verbose=1)

print('Test loss: ', result[0])
print('Test accuracy: ', result[1])
