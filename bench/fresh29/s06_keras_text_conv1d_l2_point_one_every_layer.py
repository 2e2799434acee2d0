# lossdoctor-expect: over_regularized
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""keras-team/keras#7223 (https://github.com/keras-team/keras/issues/7223), "Keras model not
training, while tflearn model does": "I am running a 1D convolution on text" with
Sequential([Embedding(vocab_size, 256, input_length=100), three Conv1D(128, kernel 3 / 7 / 7,
padding='SAME', activation='relu', kernel_regularizer=keras.regularizers.l2(0.1)),
MaxPool1D(pool_size=3), Dropout(0.5), Flatten(), Dense(3, activation='softmax')]),
loss 'categorical_crossentropy', optimizer 'adam', metric accuracy: "the model is not training
whatever I do". Here the same model in Keras 3 on the torch backend (keras.Input(shape=(100,)) in
place of input_length, which Keras 3 dropped; widths cut to Embedding 64 and 32 filters so that the
run takes about a minute on a CPU) on 1600 synthetic 100-token documents of a 2000-word
vocabulary in 3 classes (each class has 30 marker words, 6 of which appear in each of its
documents), one-hot labels, model.fit for 8 epochs of batch 64 with 400 documents as
validation_data. Needs keras: run with /work/venv-fw/bin/python (KERAS_BACKEND=torch)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
from keras.layers import Conv1D, Dense, Dropout, Embedding, Flatten, MaxPool1D
from keras.models import Sequential

keras.utils.set_random_seed(0)

vocab_size = 2000
SEQ_LEN = 100
rng = np.random.default_rng(0)
markers = rng.choice(np.arange(10, vocab_size), size=(3, 30), replace=False)


def documents(n):
    y = rng.integers(0, 3, size=n)
    x = rng.integers(1, vocab_size, size=(n, SEQ_LEN))
    for i in range(n):
        pos = rng.choice(SEQ_LEN, size=6, replace=False)
        x[i, pos] = rng.choice(markers[y[i]], size=6)
    return x.astype("int32"), keras.utils.to_categorical(y, 3).astype("float32")


X_train, Y_train = documents(1600)
X_val, Y_val = documents(400)

model = Sequential()
model.add(keras.Input(shape=(SEQ_LEN,)))
model.add(Embedding(input_dim=vocab_size, output_dim=64))
model.add(Conv1D(filters=32, kernel_size=3, padding='same', activation='relu', kernel_regularizer=keras.regularizers.l2(0.1)))
model.add(Conv1D(filters=32, kernel_size=7, padding='same', activation='relu', kernel_regularizer=keras.regularizers.l2(0.1)))
model.add(Conv1D(filters=32, kernel_size=7, padding='same', activation='relu', kernel_regularizer=keras.regularizers.l2(0.1)))
model.add(MaxPool1D(pool_size=3))
model.add(Dropout(0.5))
model.add(Flatten())
model.add(Dense(3, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])

model.fit(X_train, Y_train, batch_size=64, epochs=8, validation_data=(X_val, Y_val), verbose=2)
