# lossdoctor-expect: loss_mismatch
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""fchollet/deep-learning-with-python-notebooks#124
(https://github.com/fchollet/deep-learning-with-python-notebooks/issues/124): "6.4 Implementing a
1D convnet for the IMDB dataset". The book's listing ends the Conv1D stack with `Dense(1)` (no
activation) and compiles with `loss='binary_crossentropy'` and RMSprop(1e-4). The poster: "In the
Dense layer, a sigmoidal activation function must be added, since we solve the classification
problem, right?"; a reader: "Yep, I believe this is a mistake in the book. Until I added the
sigmoid activation the loss wasn't changing with the epochs." binary_crossentropy expects a
probability: Keras clips the raw score into [1e-7, 1 - 1e-7], every score outside (0, 1) costs a
fixed 16.1 and sends no gradient back. Here the listing in Keras 3 on the torch backend:
Embedding, Conv1D(32, 7, relu), MaxPooling1D(5), Conv1D(32, 7, relu), GlobalMaxPooling1D,
Dense(1), RMSprop, fit(validation_split=0.2); the IMDB reviews replaced by synthetic ones
(a 2000-word vocabulary, padded to 150 tokens, the sentiment carried by which of two small word sets is
more frequent, pad_sequences as in the book), 3000 reviews, batch 128, 7 epochs, embedding width
64, learning rate 1e-3 (the book's 1e-4 has 1,570 steps on
IMDB, 133 here). Cause: raw scores fed to a loss that expects probabilities (loss_mismatch). Fix:
Dense(1, activation='sigmoid') (s06). Needs keras: run with /work/venv-fw/bin/python."""

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
model.add(layers.Dense(1))

model.compile(optimizer=RMSprop(learning_rate=1e-3), loss="binary_crossentropy", metrics=["acc"])
history = model.fit(x_train, y_train, epochs=7, batch_size=128, validation_split=0.2, verbose=2)
print("final val_loss %.3f val_acc %.3f" % (history.history["val_loss"][-1], history.history["val_acc"][-1]))
