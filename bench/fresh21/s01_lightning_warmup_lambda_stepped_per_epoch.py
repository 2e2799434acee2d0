# lossdoctor-expect: lr_schedule
"""A LightningModule with a step-based linear warmup, in the idiom of ACE-Step's trainer
(https://github.com/ace-step/ACE-Step/pull/198): configure_optimizers returns AdamW and a
LambdaLR whose factor rises linearly over `warmup_steps` optimizer steps, as a plain
{"optimizer", "lr_scheduler": scheduler} dict; Trainer(max_epochs=..).
Bug (the pull request): without "interval": "step" Lightning steps the scheduler once per
epoch, so the warmup meant for a few hundred steps takes that many epochs; the learning rate
stays at a few thousandths of its peak for the whole run and the model barely moves.
The fix: return {"scheduler": scheduler, "interval": "step"} (s02).
Needs lightning: run with /work/venv-fw/bin/python."""

import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(0, verbose=False)
N_FEATURES, N_CLASSES = 20, 4
centers = torch.randn(N_CLASSES, N_FEATURES) * 1.5


def make(n):
    y = torch.randint(0, N_CLASSES, (n,))
    return centers[y] + torch.randn(n, N_FEATURES), y


x_train, y_train = make(2048)
x_val, y_val = make(512)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=256)


class Classifier(L.LightningModule):
    def __init__(self, learning_rate=1e-3, warmup_steps=300):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(N_FEATURES, 64), nn.ReLU(), nn.Linear(64, N_CLASSES))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y), prog_bar=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate)
        warmup = self.hparams.warmup_steps

        def lr_lambda(step):
            return min(1.0, (step + 1) / warmup)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


if __name__ == "__main__":
    trainer = L.Trainer(max_epochs=6, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Classifier(), train_loader, val_loader)
    print("val_loss", float(trainer.callback_metrics["val_loss"]))
