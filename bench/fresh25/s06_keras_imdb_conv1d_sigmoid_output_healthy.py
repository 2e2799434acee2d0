# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""fchollet/deep-learning-with-python-notebooks#124
(https://github.com/fchollet/deep-learning-with-python-notebooks/issues/124), the readers' fix
applied: the listing 6.4 Conv1D model ends in Dense(1, activation='sigmoid'), so
binary_crossentropy gets the probability it expects. Otherwise s05 unchanged (Keras 3 on the torch
backend, Embedding, two Conv1D(32, 7) with pooling, RMSprop, validation_split=0.2, synthetic
reviews). Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402
from keras.models import Sequential  # noqa: E402
from keras.optimizers import RMSprop  # noqa: E402
from keras.utils import pad_sequences  # noqa: E402

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

max_features = 2000
max_len = 150
positive_words = np.arange(20, 60)
negative_words = np.arange(60, 100)


def make_reviews(n):
    """Reviews of 80 to 260 word ids; a positive review leans on one word set, a negative on the other."""
    reviews, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        length = int(rng.integers(80, 260))
        words = rng.integers(100, max_features, size=length)
        marks = rng.random(length) < 0.12
        lean = positive_words if label else negative_words
        other = negative_words if label else positive_words
        from_lean = rng.random(length) < 0.7
        words[marks] = np.where(from_lean[marks], rng.choice(lean, size=length)[marks], rng.choice(other, size=length)[marks])
        reviews.append(list(words))
        labels.append(label)
    return reviews, np.array(labels, dtype="float32")


x_train, y_train = make_reviews(3000)
x_train = pad_sequences(x_train, maxlen=max_len)

model = Sequential()
model.add(keras.Input(shape=(max_len,)))
model.add(layers.Embedding(max_features, 64))
model.add(layers.Conv1D(32, 7, activation="relu"))
model.add(layers.MaxPooling1D(5))
model.add(layers.Conv1D(32, 7, activation="relu"))
model.add(layers.GlobalMaxPooling1D())
model.add(layers.Dense(1, activation="sigmoid"))

model.compile(optimizer=RMSprop(learning_rate=1e-3), loss="binary_crossentropy", metrics=["acc"])
history = model.fit(x_train, y_train, epochs=7, batch_size=128, validation_split=0.2, verbose=2)
print("final val_loss %.3f val_acc %.3f" % (history.history["val_loss"][-1], history.history["val_acc"][-1]))
