"""A synthetic image-folder dataset and `create_loader`, in the manner of timm.data: images are
uint8 arrays read per index, converted to tensors and normalized by the dataset's mean/std in
the loader's transform."""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

DATASET_MEAN = (0.45,)
DATASET_STD = (0.22,)


def _make_split(num_classes, per_class, size, seed, templates):
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for cls in range(num_classes):
        shift = rng.integers(-1, 2, size=(per_class, 2))
        for dy, dx in shift:
            img = np.roll(templates[cls], (dy, dx), axis=(0, 1)) + rng.normal(0, 0.3, (size, size))
            images.append(np.clip(img * 255, 0, 255).astype(np.uint8))
            targets.append(cls)
    return np.stack(images), np.asarray(targets)


class SyntheticImageFolder(Dataset):
    """Images stored in class folders: files listed sorted by name, labels from the folder."""

    def __init__(self, split, num_classes=10, img_size=12, transform=None):
        templates = np.random.default_rng(1234).binomial(1, 0.5, (num_classes, img_size, img_size)) * 0.6 + 0.2
        per_class = 160 if split == "train" else 40
        images, targets = _make_split(num_classes, per_class, img_size,
                                      0 if split == "train" else 1, templates)
        order = np.random.default_rng(7).permutation(len(images))  # sorted file names
        self.images = images[order]
        self.targets = targets[order]
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        img = self.images[index]
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])


class ToTensorNormalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, img):
        x = torch.from_numpy(img).float().div(255).unsqueeze(0)
        return (x - self.mean) / self.std


def create_dataset(name, split, num_classes):
    return SyntheticImageFolder(split, num_classes=num_classes)


def create_loader(dataset, batch_size, is_training, mean=DATASET_MEAN, std=DATASET_STD):
    dataset.transform = ToTensorNormalize(mean, std)
    return DataLoader(dataset, batch_size=batch_size, shuffle=is_training, drop_last=is_training)
