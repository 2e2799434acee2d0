import numpy as np
import torch
from torch.utils.data import Dataset


class SyntheticDigits(Dataset):
    """Small 12x12 grey images of a few stroke templates with noise and jitter, stored as uint8
    like MNIST; made from a fixed seed so that every run sees the same data."""

    def __init__(self, n_samples=3000, num_classes=10, transform=None, label_noise=0.0, seed=0):
        rng = np.random.default_rng(seed)
        templates = (rng.random((num_classes, 12, 12)) > 0.7).astype(np.float32)
        labels = rng.integers(0, num_classes, n_samples)
        shifts = rng.integers(-1, 2, (n_samples, 2))
        images = np.empty((n_samples, 12, 12), dtype=np.float32)
        for i, (label, (dy, dx)) in enumerate(zip(labels, shifts)):
            images[i] = np.roll(templates[label], (dy, dx), axis=(0, 1))
        images = 0.6 * images + 0.4 * rng.random(images.shape)
        self.data = (images * 255).astype(np.uint8)
        if label_noise:
            flip = rng.random(n_samples) < label_noise
            labels[flip] = rng.integers(0, num_classes, flip.sum())
        self.targets = labels.astype(np.int64)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = torch.from_numpy(self.data[index]).unsqueeze(0)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])
