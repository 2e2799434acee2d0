"""The LightningModule: training_step / validation_step sharing one step, torchmetrics-free
accuracy, and configure_optimizers returning an optimizer with its scheduler config."""

import lightning as L
import torch
import torch.nn.functional as F

from .networks import SmallConvNet


class LitClassifier(L.LightningModule):
    def __init__(self, num_classes=4, width=16, dropout=0.1, lr=3e-3, weight_decay=1e-4,
                 lr_step_size=4, lr_gamma=0.5):
        super().__init__()
        self.save_hyperparameters()
        self.net = SmallConvNet(num_classes, width, dropout)

    @property
    def features(self):
        return self.net.features

    def forward(self, x):
        return self.net(x)

    def _shared_step(self, batch):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(dim=1) == y).float().mean()
        return loss, acc

    def training_step(self, batch, batch_idx):
        loss, acc = self._shared_step(batch)
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        self.log("train_acc", acc, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        loss, acc = self._shared_step(batch)
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_acc", acc, prog_bar=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, self.parameters()),
                                      lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=self.hparams.lr_step_size,
                                                    gamma=self.hparams.lr_gamma)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "frequency": 1}}
