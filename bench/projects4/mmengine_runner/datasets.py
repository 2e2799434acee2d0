"""A synthetic tabular classification set registered in DATASETS, returning mmengine-style
dicts (`inputs`, `data_samples`) and a pseudo_collate."""

import numpy as np
import torch
from torch.utils.data import Dataset

from registry import DATASETS


def _make(num_samples, seed, num_features=24, num_classes=6):
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).normal(0, 1.0, (num_classes * 2, num_features))
    labels = rng.integers(0, num_classes, num_samples)
    mode = rng.integers(0, 2, num_samples)
    x = centers[labels * 2 + mode] + rng.normal(0, 1.5, (num_samples, num_features))
    return x.astype(np.float32), labels


@DATASETS.register_module()
class SyntheticTabular(Dataset):
    def __init__(self, split, num_samples):
        self.x, self.y = _make(num_samples, 0 if split == "train" else 1)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return dict(inputs=torch.from_numpy(self.x[idx]), data_samples=int(self.y[idx]))


def pseudo_collate(batch):
    return dict(inputs=torch.stack([b["inputs"] for b in batch]),
                data_samples=torch.tensor([b["data_samples"] for b in batch]))
