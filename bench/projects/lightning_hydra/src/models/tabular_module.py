from typing import Any

import torch
from torch import nn

from ..utils.metrics import Accuracy, MaxMetric, MeanMetric
from .components.dense_net import SimpleDenseNet


class TabularLitModule(nn.Module):
    """A LightningModule-style classifier: `model_step` computes the loss for every stage."""

    def __init__(self, net, optimizer, scheduler, compile=False):
        super().__init__()
        self.hparams = {"optimizer": optimizer, "scheduler": scheduler, "compile": compile}
        self.net = SimpleDenseNet(**net)
        # loss function
        self.criterion = torch.nn.CrossEntropyLoss()
        # metric objects for calculating and averaging accuracy across batches
        self.train_acc = Accuracy(task="multiclass", num_classes=net["output_size"])
        self.val_acc = Accuracy(task="multiclass", num_classes=net["output_size"])
        # for averaging loss across batches
        self.train_loss = MeanMetric()
        self.val_loss = MeanMetric()
        # for tracking best so far validation accuracy
        self.val_acc_best = MaxMetric()
        self.trainer = None

    def forward(self, x):
        return self.net(x)

    def on_train_start(self):
        self.val_loss.reset()
        self.val_acc.reset()
        self.val_acc_best.reset()

    def model_step(self, batch):
        x, y = batch
        logits = self.forward(x)
        loss = self.criterion(logits, y)
        preds = torch.argmax(logits, dim=1)
        return loss, preds, y

    def training_step(self, batch, batch_idx):
        loss, preds, targets = self.model_step(batch)
        self.train_loss(loss, len(targets))
        self.train_acc(preds, targets)
        return loss

    def on_train_epoch_end(self):
        self.log("train/loss", self.train_loss.compute())
        self.log("train/acc", self.train_acc.compute())
        self.train_loss.reset()
        self.train_acc.reset()

    def validation_step(self, batch, batch_idx):
        loss, preds, targets = self.model_step(batch)
        self.val_loss(loss, len(targets))
        self.val_acc(preds, targets)

    def on_validation_epoch_end(self):
        acc = self.val_acc.compute()
        self.val_acc_best(acc)
        self.log("val/loss", self.val_loss.compute())
        self.log("val/acc", acc)
        self.log("val/acc_best", self.val_acc_best.compute())
        self.val_loss.reset()
        self.val_acc.reset()

    def log(self, name, value):
        self.trainer.callback_metrics[name] = value

    def configure_optimizers(self) -> dict[str, Any]:
        opt = self.hparams["optimizer"]
        optimizer = torch.optim.Adam(self.parameters(), lr=opt["lr"],
                                     weight_decay=opt["weight_decay"])
        sched = self.hparams["scheduler"]
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=sched["factor"], patience=sched["patience"])
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss"}}
