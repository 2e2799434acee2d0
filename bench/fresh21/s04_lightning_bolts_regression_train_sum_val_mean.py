# lossdoctor-expect: validation_path
# ruff: noqa: B007, E501
"""lightning-bolts' LinearRegression LightningModule with several outputs, in its own idiom
(https://github.com/Lightning-Universe/lightning-bolts/issues/849): training_step takes
F.mse_loss(y_hat, y, reduction="sum"), adds the L1/L2 terms and divides by the batch size
x.size(0); validation_step logs F.mse_loss(y_hat, y), a mean over every element.
Bug (the issue): with output_dim > 1 the training loss is summed over the outputs and averaged
over the batch only, the validation loss averaged over both, so val_loss is output_dim times
smaller than train_loss for the same fit and the two curves cannot be compared.
Needs lightning: run with /work/venv-fw/bin/python."""

import lightning as L
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(0, verbose=False)
INPUT_DIM, OUTPUT_DIM = 13, 5
true_w = torch.randn(INPUT_DIM, OUTPUT_DIM)


def make(n):
    x = torch.randn(n, INPUT_DIM)
    return x, x @ true_w + 0.3 * torch.randn(n, OUTPUT_DIM)


x_train, y_train = make(1024)
x_val, y_val = make(256)
train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=64)


class LinearRegression(L.LightningModule):
    def __init__(self, input_dim, output_dim=1, bias=True, learning_rate=1e-2,
                 optimizer=torch.optim.Adam, l1_strength=0.0, l2_strength=0.0):
        super().__init__()
        self.save_hyperparameters()
        self.optimizer = optimizer
        self.linear = nn.Linear(self.hparams.input_dim, self.hparams.output_dim,
                                bias=self.hparams.bias)

    def forward(self, x):
        return self.linear(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        x = x.view(x.size(0), -1)
        y_hat = self(x)
        loss = F.mse_loss(y_hat, y, reduction="sum")
        if self.hparams.l1_strength > 0:
            l1_reg = self.linear.weight.abs().sum()
            loss += self.hparams.l1_strength * l1_reg
        if self.hparams.l2_strength > 0:
            l2_reg = self.linear.weight.pow(2).sum()
            loss += self.hparams.l2_strength * l2_reg
        loss /= x.size(0)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        x = x.view(x.size(0), -1)
        y_hat = self(x)
        self.log("val_loss", F.mse_loss(y_hat, y))

    def configure_optimizers(self):
        return self.optimizer(self.parameters(), lr=self.hparams.learning_rate)


if __name__ == "__main__":
    model = LinearRegression(input_dim=INPUT_DIM, output_dim=OUTPUT_DIM)
    trainer = L.Trainer(max_epochs=8, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train_loader, val_loader)
    with torch.no_grad():
        train_sum = F.mse_loss(model(x_train), y_train, reduction="sum").item() / len(x_train)
    print("train_loss(as trained)", train_sum, "val_loss", float(trainer.callback_metrics["val_loss"]))
