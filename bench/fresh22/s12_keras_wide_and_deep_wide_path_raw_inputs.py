# lossdoctor-expect: unnormalized_inputs
"""ageron/handson-ml3#20 (https://github.com/ageron/handson-ml3/pull/20): the book's Wide & Deep
model for California housing normalizes its input for the deep path but concatenates the RAW
input for the wide path (concat_layer([input_, hidden2])); "the wide and deep example is using
non-normalized inputs which leads to performance degradation". The author merged the fix
(concatenate the normalized input). Keras 3 on the torch backend, the book's layers, loss,
optimizer and callbacks; California-like columns drawn at their real scales (population in
the thousands, longitude near -120).
Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.utils.set_random_seed(42)
rng = np.random.default_rng(42)


def housing(n):
    med_inc = rng.lognormal(1.2, 0.45, n)
    house_age = rng.integers(1, 53, n).astype(float)
    ave_rooms = rng.normal(5.4, 1.2, n).clip(1)
    ave_bedrms = rng.normal(1.1, 0.1, n).clip(0.5)
    population = rng.lognormal(7.0, 0.7, n)
    ave_occup = rng.lognormal(1.0, 0.25, n)
    latitude = rng.uniform(32.5, 42.0, n)
    longitude = -124.3 + (42.0 - latitude) * 1.0 + rng.normal(0, 0.8, n)
    X = np.stack([med_inc, house_age, ave_rooms, ave_bedrms, population, ave_occup,
                  latitude, longitude], 1)
    coast = np.exp(-np.abs(longitude + 124.3 - (42.0 - latitude)) / 1.0)
    y = 0.45 * med_inc + 0.6 * coast + 0.008 * house_age - 0.1 * ave_occup \
        + rng.normal(0, 0.35, n)
    return X.astype("float32"), y.clip(0.15, 5.0).astype("float32")


X_train, y_train = housing(8000)
X_valid, y_valid = housing(2000)

normalization_layer = keras.layers.Normalization()
hidden_layer1 = keras.layers.Dense(30, activation="relu")
hidden_layer2 = keras.layers.Dense(30, activation="relu")
concat_layer = keras.layers.Concatenate()
output_layer = keras.layers.Dense(1)

input_ = keras.layers.Input(shape=X_train.shape[1:])
normalized = normalization_layer(input_)
hidden1 = hidden_layer1(normalized)
hidden2 = hidden_layer2(hidden1)
concat = concat_layer([input_, hidden2])
output = output_layer(concat)

model = keras.Model(inputs=[input_], outputs=[output])
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
model.compile(loss="mse", optimizer=optimizer, metrics=["RootMeanSquaredError"])
normalization_layer.adapt(X_train)
history = model.fit(X_train, y_train, epochs=15, batch_size=64,
                    validation_data=(X_valid, y_valid), verbose=2)
