# lossdoctor-expect: lr_schedule
"""A LightningModule (small CNN with BatchNorm on 1x16x16 images) whose configure_optimizers
builds AdamW(lr=learning_rate) and OneCycleLR(max_lr=learning_rate,
steps_per_epoch=len(self.train_dataloader()), epochs=..., anneal_strategy="linear") and returns
`[optimizer], [{"scheduler": ..., "name": "learning_rate"}]`, in the poster's idiom
(https://github.com/Lightning-AI/pytorch-lightning/issues/3869: "if I log the learning rate it
is constant and doesn't use the scheduler"; the same report for OneCycleLR in
https://github.com/pytorch/pytorch/issues/65417).
Bug (the answer, as Lightning's maintainers give it in
https://github.com/Lightning-AI/pytorch-lightning/issues/5584: "setting the scheduler key
'interval': 'step'"): a scheduler config without "interval" is stepped once per epoch, so the
one-cycle schedule counted in batches moves only `epochs` of its thousands of steps: the rate
stays at max_lr / 25 (4e-5 here) for the whole run. The fix: add "interval": "step".
Needs lightning: run with /work/venv-fw/bin/python."""

import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(0, verbose=False)
N_CLASSES = 5
templates = torch.randn(N_CLASSES, 1, 16, 16)


def make(n):
    y = torch.randint(0, N_CLASSES, (n,))
    return 0.4 * templates[y] + torch.randn(n, 1, 16, 16), y


x_train, y_train = make(1280)
x_val, y_val = make(500)
EPOCHS = 5


class LitCNN(L.LightningModule):
    def __init__(self, learning_rate=1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 4 * 4, N_CLASSES))

    def forward(self, x):
        return self.net(x)

    def train_dataloader(self):
        return DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)

    def val_dataloader(self):
        return DataLoader(TensorDataset(x_val, y_val), batch_size=250)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate)
        lr_scheduler = {"scheduler": torch.optim.lr_scheduler.OneCycleLR(
                            optimizer, max_lr=self.hparams.learning_rate,
                            steps_per_epoch=int(len(self.train_dataloader())),
                            epochs=EPOCHS, anneal_strategy="linear"),
                        "name": "learning_rate"}
        return [optimizer], [lr_scheduler]


if __name__ == "__main__":
    trainer = L.Trainer(max_epochs=EPOCHS, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(LitCNN())
    print("val_loss", float(trainer.callback_metrics["val_loss"]))
