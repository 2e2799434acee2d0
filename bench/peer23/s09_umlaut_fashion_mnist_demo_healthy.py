# lossdoctor-expect:
"""UMLAUT's demo program (BerkeleyHCI/umlaut, test_train_u.py; the tool of "Umlaut: Debugging
Deep Learning Programs using Program Structure, Model Behavior, and Error Messages", CHI 2021): a
small Keras MLP (one hidden layer of 12 ReLU units) on Fashion-MNIST with Adam, from_logits=True
and validation_split=0.2, the program its authors ran the tool on as a working example. Ported
from tf.keras to Keras 3 on the torch backend; Fashion-MNIST is replaced by small synthetic 28x28
garment-like silhouettes made here (uint8, 0-255), 3,000 training and 600 test images; 10 epochs
as in the original. Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def load_data(n_train=3000, n_test=600, classes=10, size=28):
    """Stands in for keras.datasets.fashion_mnist.load_data(): uint8 28x28 images, uint8 labels."""
    rng = np.random.default_rng(2020)
    patterns = np.zeros((classes, size + 6, size + 6), dtype=np.float32)
    for c in range(classes):
        top, bottom = sorted(rng.integers(3, size + 3, 2))
        for row in range(top, bottom + 3):
            half = int(rng.uniform(3, 12))
            patterns[c, row, size // 2 + 3 - half:size // 2 + 3 + half] = rng.uniform(0.4, 1.0)

    def split(n, seed):
        r = np.random.default_rng(seed)
        labels = r.integers(0, classes, n)
        images = np.empty((n, size, size), dtype=np.uint8)
        for i, c in enumerate(labels):
            dx, dy = r.integers(0, 7, 2)
            img = patterns[c, dy:dy + size, dx:dx + size] + r.normal(0, 0.2, (size, size))
            images[i] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
        return images, labels.astype(np.uint8)

    return split(n_train, 1), split(n_test, 2)


keras.utils.set_random_seed(0)
(train_images, train_labels), (test_images, test_labels) = load_data()
train_images = train_images / 255.
test_images = test_images / 255.

model = keras.Sequential([
    keras.layers.Flatten(),
    keras.layers.Dense(12, activation='relu'),
    keras.layers.Dense(10),
])

model.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=['accuracy'],
)

# train the model
model.fit(
    train_images,
    train_labels,
    epochs=10,
    batch_size=128,
    validation_split=0.2,
)
