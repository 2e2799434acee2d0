# lossdoctor-expect: lr_schedule
"""A LightningModule (1-D CNN with BatchNorm over multichannel signals) whose
configure_optimizers uses transformers' get_linear_schedule_with_warmup, in the poster's idiom
(https://github.com/Lightning-AI/pytorch-lightning/issues/18570): AdamW, num_warmup_steps=10,
num_training_steps=self.trainer.max_epochs, returned with interval "step".
Bug (the maintainer's answer): num_training_steps is the number of epochs while the scheduler
is stepped every batch; once the step count passes it the linear decay is clamped at zero, so
after ten warmup steps the learning rate is 0 and the model stops learning ("if
num_warmup_steps > num_training_steps it can't decay"). The fix: num_training_steps =
self.trainer.estimated_stepping_batches.
Needs lightning and transformers: run with /work/venv-fw/bin/python."""

import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from transformers import get_linear_schedule_with_warmup

L.seed_everything(0, verbose=False)
CHANNELS, LENGTH, N_CLASSES = 3, 64, 3


def make(n):
    y = torch.randint(0, N_CLASSES, (n,))
    t = torch.linspace(0, 1, LENGTH)
    freq = (2.0 + 3.0 * y.float())[:, None, None]
    x = torch.sin(6.28 * freq * t + torch.rand(n, CHANNELS, 1) * 6.28)
    return x + 0.5 * torch.randn(n, CHANNELS, LENGTH), y


x_train, y_train = make(1536)
x_val, y_val = make(384)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=128)


class SignalClassifier(L.LightningModule):
    def __init__(self, lr=3e-3):
        super().__init__()
        self.save_hyperparameters()
        self.features = nn.Sequential(
            nn.Conv1d(CHANNELS, 16, 5, padding=2), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.head = nn.Linear(32, N_CLASSES)

    def forward(self, x):
        return self.head(self.features(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)
        scheduler = get_linear_schedule_with_warmup(
            optimizer, num_warmup_steps=10, num_training_steps=self.trainer.max_epochs)
        return dict(optimizer=optimizer,
                    lr_scheduler=dict(scheduler=scheduler, interval="step", frequency=1))


if __name__ == "__main__":
    trainer = L.Trainer(max_epochs=5, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(SignalClassifier(), train_loader, val_loader)
    print("val_loss", float(trainer.callback_metrics["val_loss"]))
