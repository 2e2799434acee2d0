# lossdoctor-expect: validation_path
"""perslev/U-Time#43 (https://github.com/perslev/U-Time/issues/43): "even after hundreds of
epochs the validation loss is still the same value (always 0.821)". The maintainer's answer:
a bug in the validation loss computation, fixed in 875ca86 ("Fixed wrong computation of
validation loss on some TF versions"): U-Time's Validation callback pairs
model.metrics_names with getattr(model, "loss_functions", model.losses) + model.metrics; on
the newer versions the first entry it calls for "loss" is the model's Mean loss tracker,
called as metric(y_true, y_pred) (a weighted mean of the LABELS) and never reset, so "val_loss"
barely moves. The fix skips the Mean trackers and resets stateful metrics. A U-Time-like
1-D conv net on EEG-like sleep-stage segments, Keras 3 on the torch backend, validated by the
callback (fit gets no validation_data, as in U-Time).
Needs keras: run with /work/venv-fw/bin/python."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
N_CLASSES, SEG, FS = 5, 5, 32  # sleep stages, segments per sample, samples per segment


def psg(n):
    stages = rng.integers(0, N_CLASSES, (n, SEG))
    t = np.arange(FS) / FS
    freq = 1.0 + 2.0 * stages[..., None]
    x = np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3, (n, SEG, 1)))
    x = x + rng.normal(0, 0.8, x.shape)
    return x.reshape(n, SEG * FS, 1).astype("float32"), stages


class Validation(keras.callbacks.Callback):
    def __init__(self, x_val, y_val):
        super().__init__()
        self.x_val, self.y_val = x_val, y_val

    def predict(self):
        metrics = list(self.model.metrics)  # [the Mean loss tracker, compile metrics]
        metrics_names = ["loss", "compile_metrics"]
        self.model.reset_metrics()
        per_batch = {name: [] for name in metrics_names}
        for i in range(0, len(self.x_val), 50):
            x, y = self.x_val[i:i + 50], self.y_val[i:i + 50]
            pred = self.model.predict_on_batch(x)
            for name, metric in zip(metrics_names, metrics, strict=False):
                if name == "loss":
                    res = metric(keras.ops.convert_to_tensor(y.astype("float32")),
                                 keras.ops.convert_to_tensor(pred.max(-1)))
                    per_batch[name].append(float(keras.ops.convert_to_numpy(res)))
        return {f"val_{name}": float(np.mean(v)) for name, v in per_batch.items() if v}

    def on_epoch_end(self, epoch, logs=None):
        results = self.predict()
        logs.update(results)
        print(f"epoch {epoch}: loss {logs['loss']:.4f}  val_loss {results['val_loss']:.4f}")


x_train, y_train = psg(1200)
x_val, y_val = psg(300)
inputs = keras.Input((SEG * FS, 1))
h = keras.layers.Conv1D(16, 5, padding="same", activation="elu")(inputs)
h = keras.layers.BatchNormalization()(h)
h = keras.layers.MaxPooling1D(4)(h)
h = keras.layers.Conv1D(32, 5, padding="same", activation="elu")(h)
h = keras.layers.BatchNormalization()(h)
h = keras.layers.MaxPooling1D(FS // 4)(h)  # one vector per segment
outputs = keras.layers.Conv1D(N_CLASSES, 1, activation="softmax")(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(5e-4),
              loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=12, verbose=0,
          callbacks=[Validation(x_val, y_val)])
