# lossdoctor-expect: data_pipeline
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Borda/kaggle_image-classify#12 (https://github.com/Borda/kaggle_image-classify/pull/12): "fix
dataset shuffle". kaggle_plantpatho/data.py before the PR: PlantPathologyDataset reads the table
of image names and space-separated labels, takes `self.raw_labels` from it, shuffles the table
(`sample(frac=1, random_state=42)`), splits it 0.8/0.2 into train and valid, keeps `img_names`
from the shuffled split and builds one-hot `labels` with `_prepare_labels()`; `__getitem__` reads
the image by name, applies the transforms, and returns it with `self.labels[idx]`.
PlantPathologyDM (a LightningDataModule) builds the two datasets in `setup()` and their loaders
(shuffle=True for training); the LightningModule is a CNN backbone with a linear head over the six
labels, `binary_cross_entropy_with_logits`, Adam, and the validation loss logged each epoch. Here
the same dataset, data module and module with 600 synthetic 32x32 leaf images held in memory
(a dict stands in for the image folder and for `plt.imread`; the table is a list of rows since
pandas is not installed), each label drawing its own pattern, a four-layer CNN for the
repository's timm backbone, batch 32, 8 epochs."""

import os

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

os.environ.setdefault("PL_DISABLE_FORK", "1")
pl.seed_everything(42)
rng = np.random.default_rng(42)

LABELS = ("complex", "frog_eye_leaf_spot", "healthy", "powdery_mildew", "rust", "scab")
IMAGES = {}
TABLE = []
for i in range(600):
    label = LABELS[rng.integers(0, len(LABELS))]
    img = rng.normal(0.3, 0.05, size=(3, 32, 32)).astype(np.float32)
    img[1] += 0.3
    k = LABELS.index(label)
    for _ in range(6):
        r, c = rng.integers(3, 29, size=2)
        img[k % 3, r - 3:r + 3, c - 3:c + 3] += 1.0
    if k >= 3:
        img[:, :: k - 1, :] += 0.6
    name = "%05d.jpg" % i
    IMAGES[name] = img
    TABLE.append({"image": name, "labels": label})


class Table(list):
    def sample(self, frac=1, random_state=None):
        order = np.random.default_rng(random_state).permutation(len(self))
        return Table([self[i] for i in order][: int(frac * len(self))])

    def column(self, key):
        return [row[key] for row in self]


class PlantPathologyDataset(Dataset):
    """The ful dataset with one-hot encoding for multi-label case."""

    def __init__(self, df_data=TABLE, path_img_dir="train_images", transforms=None, mode="train", split=0.8, uq_labels=None, random_state=42):
        self.path_img_dir = path_img_dir
        self.transforms = transforms
        self.mode = mode

        # set or load the config table
        self.data = Table(df_data)
        # take over existing table or load from file
        self.raw_labels = self.data.column("labels")
        if uq_labels:
            self.labels_unique = tuple(uq_labels)
        else:
            labels_all = [lb for lbs in self.raw_labels for lb in lbs.split(" ")]
            self.labels_unique = tuple(sorted(set(labels_all)))
        self.labels_lut = {lb: i for i, lb in enumerate(self.labels_unique)}
        self.num_classes = len(self.labels_unique)

        # shuffle data
        self.data = self.data.sample(frac=1, random_state=random_state)

        # split dataset
        assert 0.0 <= split <= 1.0, f"split {split} is out of range"
        frac = int(split * len(self.data))
        self.data = Table(self.data[:frac] if mode == "train" else self.data[frac:])
        self.img_names = self.data.column("image")
        self.labels = self._prepare_labels()

    def _prepare_labels(self):
        return [torch.tensor(self.to_onehot_encoding(lb)) if lb else None for lb in self.raw_labels]

    def to_onehot_encoding(self, labels):
        # processed with encoding
        one_hot = [0] * len(self.labels_unique)
        for lb in labels.split(" "):
            one_hot[self.labels_lut[lb]] = 1
        return tuple(one_hot)

    def __getitem__(self, idx):
        img_name = self.img_names[idx]
        label = self.labels[idx]
        img = torch.from_numpy(IMAGES[img_name])
        # augmentation
        if self.transforms:
            img = self.transforms(img)
        return img, label.float()

    def __len__(self):
        return len(self.data)


def TRAIN_TRANSFORM(img):
    if torch.rand(1).item() < 0.5:
        img = torch.flip(img, dims=[2])
    return img


class PlantPathologyDM(pl.LightningDataModule):
    def __init__(self, batch_size=32, split=0.8):
        super().__init__()
        self.batch_size = batch_size
        self.split = split
        self.train_dataset = None
        self.valid_dataset = None

    def setup(self, *_, **__):
        ds = PlantPathologyDataset(TABLE, mode="train", split=1.0)
        self.labels_unique = ds.labels_unique
        ds_defaults = dict(df_data=TABLE, split=self.split, uq_labels=self.labels_unique)
        self.train_dataset = PlantPathologyDataset(**ds_defaults, mode="train", transforms=TRAIN_TRANSFORM)
        self.valid_dataset = PlantPathologyDataset(**ds_defaults, mode="valid", transforms=None)

    def train_dataloader(self):
        return DataLoader(self.train_dataset, batch_size=self.batch_size, num_workers=0, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.valid_dataset, batch_size=self.batch_size, num_workers=0, shuffle=False)


class LitPlantPathology(pl.LightningModule):
    def __init__(self, num_classes=6, lr=1e-3):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(64, num_classes)
        self.learn_rate = lr

    def forward(self, x):
        return self.head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        y_hat = self(x)
        loss = F.binary_cross_entropy_with_logits(y_hat, y)
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        y_hat = self(x)
        loss = F.binary_cross_entropy_with_logits(y_hat, y)
        self.log("valid_loss", loss, prog_bar=False)
        self.log("valid_acc", (y_hat.argmax(1) == y.argmax(1)).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.learn_rate)


class PrintEpoch(pl.Callback):
    def on_validation_epoch_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            m = trainer.callback_metrics
            print("epoch %d  valid_loss %.4f  valid_acc %.3f" % (trainer.current_epoch, m["valid_loss"], m["valid_acc"]))


if __name__ == "__main__":
    dm = PlantPathologyDM(batch_size=32)
    model = LitPlantPathology(num_classes=len(LABELS))
    trainer = pl.Trainer(accelerator="cpu", max_epochs=8, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[PrintEpoch()])
    trainer.fit(model, datamodule=dm)
