# lossdoctor-expect: lr_schedule
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Lightning-AI/pytorch-lightning#6948 (https://github.com/Lightning-AI/pytorch-lightning/issues/6948):
"Learning rate interval update not working properly". configure_optimizers builds
`OneCycleLR(optimizer, max_lr, epochs, steps_per_epoch=len(self.loaders_dict['train']))` and
returns `{"optimizer": optimizer, "lr_scheduler": scheduler, "monitor": "train_loss",
'interval': 'step'}`; the poster: "it only works properly if I set steps_per_epoch = 1, even
though I have set 'interval': 'step'", with a learning rate that ends far from the cycle's end.
The follow-up documentation issue #9630 lists #6948 among the configurations where the scheduler
keys were given in the wrong place ("I was using OneCycleLR and unknowingly was doing steps on each
epoch instead of on each step"): 'interval' is read only inside the lr_scheduler dict
({"scheduler": ..., "interval": "step"}); at the top level it is ignored (Lightning 2 warns
"Found unsupported keys") and the one-cycle schedule, sized for epochs x steps_per_epoch steps,
is stepped once per epoch: the rate stays near its starting max_lr/25 for the whole run and the
cycle never happens. Here a LightningModule holding its loaders in self.loaders_dict, a small
tabular MLP (BatchNorm, dropout) on synthetic data (20 features, 5 classes given by a random
teacher network), AdamW, OneCycleLR(max_lr=1e-3), 8 epochs of 40 steps on CPU. Cause: the learning-rate schedule is
stepped per epoch instead of per batch (lr_schedule). Fix: put the scheduler and
'interval': 'step' together in the lr_scheduler dict. Needs lightning: run with
/work/venv-fw/bin/python."""

import warnings

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

warnings.filterwarnings("ignore", ".*does not have many workers.*")
L.seed_everything(0, verbose=False)


def make_split(n, generator):
    teacher = torch.Generator().manual_seed(3)
    w1, w2 = torch.randn(20, 64, generator=teacher), torch.randn(64, 5, generator=teacher)
    x = torch.randn(n, 20, generator=generator)
    labels = (torch.tanh(x @ w1 / 20 ** 0.5 * 2) @ w2).argmax(1)
    return TensorDataset(x, labels)


class TabularClassifier(L.LightningModule):
    def __init__(self, max_lr=1e-3, epochs=8):
        super().__init__()
        self.save_hyperparameters()
        generator = torch.Generator().manual_seed(0)
        self.loaders_dict = {
            "train": DataLoader(make_split(2560, generator), batch_size=64, shuffle=True),
            "val": DataLoader(make_split(1024, generator), batch_size=256),
        }
        self.net = nn.Sequential(
            nn.Linear(20, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(128, 5),
        )

    def forward(self, x):
        return self.net(x)

    def train_dataloader(self):
        return self.loaders_dict["train"]

    def val_dataloader(self):
        return self.loaders_dict["val"]

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def on_validation_epoch_end(self):
        metrics = self.trainer.callback_metrics
        if "val_loss" in metrics:
            print("epoch %d val_loss %.4f val_acc %.3f lr %.2e" % (self.current_epoch, metrics["val_loss"], metrics["val_acc"], self.trainer.optimizers[0].param_groups[0]["lr"]))

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.max_lr)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer,
                                                        self.hparams.max_lr,
                                                        epochs=self.hparams.epochs,
                                                        steps_per_epoch=len(self.loaders_dict["train"]))

        return {"optimizer": optimizer, "lr_scheduler": scheduler, "monitor": "train_loss", "interval": "step"}


model = TabularClassifier()
trainer = L.Trainer(max_epochs=8, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
trainer.fit(model)
