"""A LightningDataModule for a small synthetic image set (stands in for a folder of 12x12
colour images; generated from a fixed seed, nothing downloaded)."""

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .transforms import Compose, Normalize, RandomHorizontalFlip, ToTensor


def make_images(n, num_classes, size, seed):
    """Images in HWC uint8 (as PIL/numpy hand them over): each class a coloured square at its
    own place, on noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    images = rng.integers(0, 160, (n, size, size, 3)).astype(np.float32)
    half = size // 2
    for i, label in enumerate(labels):
        top, left = (label // 2) * half, (label % 2) * half
        colour = np.array([200, 120, 40]) if label % 2 else np.array([40, 120, 200])
        images[i, top + 1:top + half - 1, left + 1:left + half - 1] += colour * rng.uniform(0.15, 0.45)
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


class ImageDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])


class SyntheticImageDataModule(L.LightningDataModule):
    def __init__(self, data_dir="data", num_classes=4, image_size=12, n_samples=1600,
                 val_fraction=0.2, batch_size=32, num_workers=0, seed=7):
        super().__init__()
        self.save_hyperparameters()

    def prepare_data(self):
        path = Path(self.hparams.data_dir) / "images.npz"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            images, labels = make_images(self.hparams.n_samples, self.hparams.num_classes,
                                         self.hparams.image_size, self.hparams.seed)
            np.savez(path, images=images, labels=labels)

    def setup(self, stage=None):
        data = np.load(Path(self.hparams.data_dir) / "images.npz")
        images, labels = data["images"], data["labels"]
        n = len(labels)
        n_train = int(n * (1 - self.hparams.val_fraction))
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.hparams.seed)).numpy()
        train_idx, val_idx = perm[:n_train], perm[n_train:]
        train_images, train_labels = images[train_idx], labels[train_idx]
        val_images, val_labels = images[val_idx], labels[val_idx]

        mean = train_images.reshape(-1, 3).mean(0) / 255.0
        std = train_images.reshape(-1, 3).std(0) / 255.0
        self.train_transform = Compose([RandomHorizontalFlip(), ToTensor(), Normalize(mean, std)])
        self.val_transform = Compose([ToTensor(), Normalize(mean, std)])
        self.train_set = ImageDataset(train_images, train_labels, self.train_transform)
        self.val_set = ImageDataset(val_images, val_labels, self.val_transform)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True,
                          num_workers=self.hparams.num_workers, drop_last=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.hparams.batch_size * 2,
                          num_workers=self.hparams.num_workers)
