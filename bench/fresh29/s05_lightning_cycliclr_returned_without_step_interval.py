# lossdoctor-expect: lr_schedule
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Lightning-AI/pytorch-lightning#5631 (https://github.com/Lightning-AI/pytorch-lightning/issues/5631),
"lr_scheduler step() called after every epoch instead of after every batch": "This leads to a
constant learning rate per epoch when using for instance the CyclicLR scheduler." The reporter's
BoringModel notebook returns `[optimizer], [scheduler]` from configure_optimizers. Here a
BoringModel-shaped LightningModule (a small MLP on 20 synthetic features, 4 classes,
cross-entropy, validation each epoch) with SGD(lr=1e-5, momentum=0.9) and
CyclicLR(base_lr=1e-5, max_lr=0.05, step_size_up=200), meant to climb and fall once over the 400
batches of training (8 epochs of 50 batches). Needs lightning: run with /work/venv-fw/bin/python."""

import warnings

import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

warnings.filterwarnings("ignore")
torch.manual_seed(0)


def make_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(4, 20, generator=torch.Generator().manual_seed(5)) * 0.35
    y = torch.randint(0, 4, (n,), generator=g)
    x = centers[y] + torch.randn(n, 20, generator=g)
    return TensorDataset(x, y)


class BoringModel(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_epoch=True)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=True, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=1e-5, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=1e-5, max_lr=0.05, step_size_up=200)
        return [optimizer], [scheduler]


class PrintEpoch(L.Callback):
    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.sanity_checking:
            return
        m = trainer.callback_metrics
        print("epoch %d  train_loss %.4f  val_loss %.4f  val_acc %.3f  lr %.2e" % (
            trainer.current_epoch, m.get("train_loss_epoch", float("nan")), m["val_loss"], m["val_acc"],
            trainer.optimizers[0].param_groups[0]["lr"]))


train_loader = DataLoader(make_data(1600, 1), batch_size=32, shuffle=True)
val_loader = DataLoader(make_data(400, 2), batch_size=100)
trainer = L.Trainer(max_epochs=8, accelerator="cpu", logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, callbacks=[PrintEpoch()])
trainer.fit(BoringModel(), train_loader, val_loader)
