"""Writes the framework logs in this folder with the frameworks' own loggers, from tiny seeded
runs: a healthy one (the labels follow the inputs, a working learning rate) and a flat one (the
learning rate is a millionth of that). Run once with the frameworks installed:

    KERAS_BACKEND=torch python tests/data/logs/make_logs.py

Lightning's CSVLogger writes lightning_{healthy,flat}/metrics.csv, and its TensorBoardLogger
the event file in lightning_tb_{healthy,flat}/ (with tensorboard installed); Keras' CSVLogger
keras_{healthy,flat}.csv, Hugging Face's Trainer hf_{healthy,flat}/trainer_state.json.
"""

import os
import shutil
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).parent
RATES = {"healthy": 0.005, "flat": 5e-9}
EPOCHS, ROWS, TRAIN_ROWS, FEATURES, CLASSES, BATCH = 10, 1024, 768, 8, 4, 32


def data(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((ROWS, FEATURES)).astype("float32")
    y = (x[:, :CLASSES] + 0.5 * rng.standard_normal((ROWS, CLASSES))).argmax(1)
    return x, y.astype("int64")


def lightning_logs(kind: str) -> None:
    import lightning as L
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    class Net(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 32), torch.nn.ReLU(),
                                           torch.nn.Linear(32, CLASSES))

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=RATES[kind])

    L.seed_everything(0)
    x, y = data()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x[:TRAIN_ROWS]), torch.tensor(y[:TRAIN_ROWS])),
        batch_size=BATCH, shuffle=True)
    val = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x[TRAIN_ROWS:]), torch.tensor(y[TRAIN_ROWS:])),
        batch_size=256)
    out, events = HERE / f"lightning_{kind}", HERE / f"lightning_tb_{kind}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(events, ignore_errors=True)
    loggers = [CSVLogger(str(HERE), name=out.name, version=""),
               TensorBoardLogger(str(HERE), name=events.name, version="",
                                 default_hp_metric=False)]
    trainer = L.Trainer(max_epochs=EPOCHS, logger=loggers, log_every_n_steps=4,
                        callbacks=[LearningRateMonitor()], enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(Net(), loader, val)
    for folder in (out, events):
        (folder / "hparams.yaml").unlink(missing_ok=True)


def keras_logs(kind: str) -> None:
    import keras

    keras.utils.set_random_seed(0)
    x, y = data()
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(32, "relu"),
                              keras.layers.Dense(CLASSES)])
    model.compile(keras.optimizers.Adam(RATES[kind]),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, validation_split=1 - TRAIN_ROWS / ROWS, epochs=EPOCHS, batch_size=BATCH,
              verbose=0,
              callbacks=[keras.callbacks.CSVLogger(str(HERE / f"keras_{kind}.csv"))])


def hf_logs(kind: str) -> None:
    from transformers import Trainer, TrainingArguments

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(FEATURES, 32), torch.nn.ReLU(),
                                           torch.nn.Linear(32, CLASSES))

        def forward(self, x, labels=None):
            logits = self.net(x)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    torch.manual_seed(0)
    x, y = data()
    rows = [{"x": torch.tensor(a), "labels": int(b)} for a, b in zip(x, y, strict=True)]
    out = HERE / f"hf_{kind}"
    args = TrainingArguments(str(out / "run"), num_train_epochs=EPOCHS, learning_rate=RATES[kind],
                             per_device_train_batch_size=BATCH, eval_strategy="epoch",
                             logging_steps=4, save_strategy="no", report_to=[], seed=0,
                             use_cpu=True, disable_tqdm=True)
    trainer = Trainer(Net(), args, train_dataset=rows[:TRAIN_ROWS], eval_dataset=rows[TRAIN_ROWS:])
    trainer.train()
    trainer.state.save_to_json(str(out / "trainer_state.json"))
    shutil.rmtree(out / "run", ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "torch")
    for kind in RATES:
        lightning_logs(kind)
        keras_logs(kind)
        hf_logs(kind)
