"""A LightningModule trained by Trainer.fit, logging its losses with self.log."""

import lightning as L
import torch
import torch.nn.functional as F
from tiny_data import BATCH, CALLBACK_DIR, EPOCHS, LR, VALIDATE, blobs
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Classifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                 nn.Linear(64, 3))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=LR)


L.seed_everything(0, verbose=False)
x_train, y_train, x_val, y_val = blobs()
train = DataLoader(TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
                   batch_size=BATCH, shuffle=True)
val = DataLoader(TensorDataset(torch.from_numpy(x_val), torch.from_numpy(y_val)), batch_size=BATCH)
callbacks = []
if CALLBACK_DIR:  # the report goes to trainer.log_dir: here, with no logger, default_root_dir
    from lossdoctor.integrations.lightning import LossDoctorCallback

    callbacks.append(LossDoctorCallback())
trainer = L.Trainer(max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False,
                    enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, callbacks=callbacks,
                    default_root_dir=CALLBACK_DIR)
trainer.fit(Classifier(), train, val if VALIDATE else None)
print("metrics", {k: round(float(v), 4) for k, v in trainer.callback_metrics.items()})
