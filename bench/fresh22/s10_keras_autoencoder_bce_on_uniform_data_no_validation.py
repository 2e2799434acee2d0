# lossdoctor-expect: loss_mismatch
"""stats.stackexchange 441750 (https://stats.stackexchange.com/questions/441750/why-cant-this-autoencoder-reach-zero-loss):
a Keras autoencoder (ReLU dense layers of 100, sigmoid output) learns the identity of
numpy.random.rand data with binary_crossentropy and Adam, no validation data; "why doesn't it
reach zero loss?". The accepted answer: a poor match between the inputs and the loss function;
binary cross-entropy against targets strictly between 0 and 1 cannot reach zero (its floor is
the targets' own entropy), while the same model with another loss (MSE) reaches zero loss very
quickly. Keras 3 on the torch backend, 3,000 rows instead of 30,000.
Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy  # noqa: E402
from keras.layers import Dense, Input  # noqa: E402
from keras.models import Model  # noqa: E402

keras.utils.set_random_seed(0)
EPOCHS, BATCH_SIZE = 12, 64
x_rand = numpy.random.rand(3000, 100).astype("float32")
encoding_dim = 100

inputs = Input(shape=x_rand.shape[1:])
encoded = Dense(100, activation="relu")(inputs)
encoded = Dense(100, activation="relu")(encoded)
encoded = Dense(encoding_dim, activation="relu")(encoded)
decoded = Dense(100, activation="relu")(encoded)
decoded = Dense(100, activation="relu")(decoded)
decoded = Dense(x_rand.shape[-1], activation="sigmoid")(decoded)

autoencoder = Model(inputs, decoded)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
history = autoencoder.fit(x_rand, x_rand, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=2)
