# lossdoctor-expect: frozen_params
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""graviraja/MLOps-Basics#14 (https://github.com/graviraja/MLOps-Basics/issues/14): "Is training
happening?". week_0_project_setup/model.py before commit 02fd276: a pytorch_lightning ColaModel (a
small BERT, google/bert_uncased_L-2_H-128_A-2, plus nn.Linear(hidden, 2) on the [CLS] state),
validation_step logging val_loss and val_acc, Adam(lr=1e-2), a DataModule with dict batches
(input_ids, attention_mask, label), Trainer(max_epochs=5) with ModelCheckpoint and EarlyStopping
on val_loss. Here the same module, data module and trainer, the BERT built from the checkpoint's
configuration (no download), synthetic CoLA-like sentences already tokenized (padded to 32), 1200
training and 300 validation sentences, the TensorBoard logger left out. Needs lightning and
transformers: run with /work/venv-fw/bin/python."""

import tempfile

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.callbacks.early_stopping import EarlyStopping
from sklearn.metrics import accuracy_score
from transformers import AutoModel, BertConfig

pl.seed_everything(0)

BERT_UNCASED_L2_H128_A2 = BertConfig(vocab_size=1000, hidden_size=128, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=512)


class ColaModel(pl.LightningModule):
    def __init__(self, model_name="google/bert_uncased_L-2_H-128_A-2", lr=1e-2):
        super(ColaModel, self).__init__()
        self.save_hyperparameters()

        self.bert = AutoModel.from_config(BERT_UNCASED_L2_H128_A2)
        self.W = nn.Linear(self.bert.config.hidden_size, 2)
        self.num_classes = 2

    def forward(self, input_ids, attention_mask):
        outputs = self.bert(input_ids=input_ids, attention_mask=attention_mask)

        h_cls = outputs.last_hidden_state[:, 0]
        logits = self.W(h_cls)
        return logits

    def training_step(self, batch, batch_idx):
        logits = self.forward(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits, batch["label"])
        self.log("train_loss", loss, prog_bar=True)

    def validation_step(self, batch, batch_idx):
        logits = self.forward(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits, batch["label"])
        _, preds = torch.max(logits, dim=1)
        val_acc = accuracy_score(preds.cpu(), batch["label"].cpu())
        val_acc = torch.tensor(val_acc)
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_acc", val_acc, prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams["lr"])


def synthetic_cola(n, rng, max_length=32):
    # token 101 opens every sentence ([CLS]), 0 pads; ids 1000-word vocabulary
    agreement, verbs = np.arange(200, 210), np.arange(300, 310)
    rows = []
    for _ in range(n):
        length = int(rng.integers(8, max_length))
        ids = rng.integers(400, 1000, size=length)
        label = int(rng.random() < 0.5)
        i, j = sorted(rng.choice(np.arange(1, length), size=2, replace=False))
        if label:
            ids[i], ids[j] = rng.choice(agreement), rng.choice(verbs)
        else:
            ids[i], ids[j] = rng.choice(verbs), rng.choice(agreement)
        ids[0] = 101
        input_ids = np.zeros(max_length, dtype=np.int64)
        input_ids[:length] = ids
        attention_mask = (input_ids != 0).astype(np.int64)
        rows.append({"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention_mask), "label": torch.tensor(label)})
    return rows


class DataModule(pl.LightningDataModule):
    def __init__(self, model_name="google/bert_uncased_L-2_H-128_A-2", batch_size=32):
        super().__init__()
        self.batch_size = batch_size

    def prepare_data(self):
        pass

    def setup(self, stage=None):
        if stage == "fit" or stage is None:
            rng = np.random.default_rng(0)
            self.train_data = synthetic_cola(1200, rng)
            self.val_data = synthetic_cola(300, rng)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(
            self.train_data, batch_size=self.batch_size, shuffle=True
        )

    def val_dataloader(self):
        return torch.utils.data.DataLoader(
            self.val_data, batch_size=self.batch_size, shuffle=False
        )


def main():
    cola_data = DataModule()
    cola_model = ColaModel()

    checkpoint_callback = ModelCheckpoint(
        dirpath=tempfile.mkdtemp(), monitor="val_loss", mode="min"
    )
    early_stopping_callback = EarlyStopping(
        monitor="val_loss", patience=3, verbose=True, mode="min"
    )

    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=5,
        fast_dev_run=False,
        logger=False,
        enable_progress_bar=False,
        callbacks=[checkpoint_callback, early_stopping_callback],
    )
    trainer.fit(cola_model, cola_data)
    print("val_loss %.4f  val_acc %.3f" % (trainer.callback_metrics["val_loss"], trainer.callback_metrics["val_acc"]))


if __name__ == "__main__":
    main()
