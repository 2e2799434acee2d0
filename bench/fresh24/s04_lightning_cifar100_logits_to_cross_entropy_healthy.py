# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Lightning-AI/pytorch-lightning#20344 (https://github.com/Lightning-AI/pytorch-lightning/issues/20344):
"Everything prints fine, but the loss doesn't descent". A LightningModule on a 100-class image
set (704 batches an epoch) whose train_loss sits at 4.600 (log 100 = 4.605) epoch after epoch.
The maintainer's answer: the gradients do flow, they are very small, and "you are using
nn.Softmax in combination with nn.CrossEntropyLoss which is not correct. Cross entropy loss
expects the input tensor to be logits not probabilities." Here synthetic 3x16x16 images of 100
classes (a class prototype plus noise, 40 training and 10 validation images per class), a small
conv net whose head ends in nn.Softmax(dim=1), CrossEntropyLoss, Adam 1e-3, Lightning's Trainer
on CPU for 8 epochs. This is s03 with the maintainer's fix applied: the nn.Softmax removed, the
loss given the logits. Healthy. Needs lightning: run with /work/venv-fw/bin/python."""

import lightning as L
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(0, verbose=False)
NUM_CLASSES = 100


def make_split(per_class, generator):
    prototypes = torch.randn(NUM_CLASSES, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(NUM_CLASSES).repeat_interleave(per_class)
    images = prototypes[labels] + 1.2 * torch.randn(len(labels), 3, 16, 16, generator=generator)
    return TensorDataset(images, labels)


class LitClassifier(L.LightningModule):
    def __init__(self, learning_rate=1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.model = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 256), nn.ReLU(),
            nn.Linear(256, NUM_CLASSES),
        )
        self.criterion = nn.CrossEntropyLoss()

    def forward(self, x):
        return self.model(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.criterion(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        out = self(x)
        loss = self.criterion(out, y)
        acc = (out.argmax(dim=1) == y).float().mean()
        self.log("val_loss", loss, prog_bar=True)
        self.log("val_acc", acc, prog_bar=True)

    def on_validation_epoch_end(self):
        metrics = self.trainer.callback_metrics
        if "val_loss" in metrics:
            print(f"epoch {self.current_epoch}: val_loss {metrics['val_loss']:.4f} "
                  f"val_acc {metrics['val_acc']:.3f}")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)


generator = torch.Generator().manual_seed(0)
train_loader = DataLoader(make_split(40, generator), batch_size=64, shuffle=True)
val_loader = DataLoader(make_split(10, generator), batch_size=256)

model = LitClassifier()
trainer = L.Trainer(max_epochs=8, accelerator="cpu", devices=1, logger=False,
                    enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, num_sanity_val_steps=0)
trainer.fit(model, train_loader, val_loader)
