# lossdoctor-expect: loss_mismatch
"""UMLAUT's pilot program (BerkeleyHCI/umlaut, pilot_boilerplate.py; the tool of "Umlaut:
Debugging Deep Learning Programs using Program Structure, Model Behavior, and Error
Messages", CHI 2021): a Keras CNN trained on CIFAR-10 with Adam and validation_split=0.2, the
program the tool's authors wrote for their pilot user sessions. Ported from tf.keras to Keras 3
on the torch backend; CIFAR-10 is replaced by small synthetic 32x32 colour images of 10 classes
made here, stored as CIFAR's are (uint8, 0-255), 1,200 training and 300 test images; 5 epochs
instead of 10. Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def load_data(n_train=1200, n_test=300, classes=10, size=32):
    """Stands in for keras.datasets.cifar10.load_data(): uint8 images, labels of shape (n, 1)."""
    rng = np.random.default_rng(2021)
    patterns = np.zeros((classes, size + 8, size + 8, 3), dtype=np.float32)
    colours = rng.uniform(0.2, 1.0, (classes, 3))
    for c in range(classes):
        for _ in range(3):
            x0, y0, x1, y1 = rng.uniform(6, size + 2, 4)
            for t in np.linspace(0, 1, 40):
                x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
                patterns[c, y - 2:y + 2, x - 2:x + 2] = colours[c]

    def split(n, seed):
        r = np.random.default_rng(seed)
        labels = r.integers(0, classes, n)
        images = np.empty((n, size, size, 3), dtype=np.uint8)
        for i, c in enumerate(labels):
            dx, dy = r.integers(0, 9, 2)
            img = patterns[c, dy:dy + size, dx:dx + size] + r.normal(0, 0.2, (size, size, 3))
            images[i] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
        return images, labels.reshape(-1, 1).astype(np.uint8)

    return split(n_train, 1), split(n_test, 2)


keras.utils.set_random_seed(0)
(train_images, train_labels), (test_images, test_labels) = load_data()

model = keras.Sequential([
    keras.layers.Input(shape=(32, 32, 3), dtype="float32"),
    keras.layers.Conv2D(64, 3, activation='relu'),
    keras.layers.Conv2D(64, 3, activation='relu'),
    keras.layers.MaxPool2D(2),
    keras.layers.Dropout(0.8),
    keras.layers.Conv2D(128, 3, activation='relu'),
    keras.layers.Conv2D(128, 3, activation='relu'),
    keras.layers.MaxPool2D(2),
    keras.layers.Dropout(0.8),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation='relu'),
    keras.layers.Dense(128, activation='relu'),
    keras.layers.Dropout(0.8),
    keras.layers.Dense(10),
])

model.compile(
    optimizer='adam',
    loss=keras.losses.sparse_categorical_crossentropy,
    metrics=['accuracy'],
)

# train the model
model.fit(
    train_images,
    train_labels,
    epochs=5,
    batch_size=128,
    validation_split=0.2,
)

results = model.evaluate(test_images, test_labels, batch_size=4096)
print('test loss, test acc: ', results)
