"""A synthetic stand-in for an ImageFolder dataset: 3x16x16 texture images (stripes of one
orientation, horizontal or vertical so that a flip keeps the class, and one frequency per class,
in noise), listed class by class as ImageFolder lists them."""

import math

import torch
from torch.utils.data import Dataset


def make_textures(n_per_class, num_classes, seed):
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    images, targets = [], []
    for c in range(num_classes):
        angle = math.pi / 2 * (c % 2)
        freq = 0.4 + 0.5 * (c // 2)
        phase = 2 * math.pi * torch.rand(n_per_class, 1, 1, generator=g)
        wave = torch.sin(freq * (math.cos(angle) * xs + math.sin(angle) * ys) + phase)
        img = 0.5 + 0.25 * wave.unsqueeze(1).expand(-1, 3, -1, -1).clone()
        img += 0.25 * torch.randn(n_per_class, 3, 16, 16, generator=g)
        images.append(img)
        targets.append(torch.full((n_per_class,), c))
    return torch.cat(images), torch.cat(targets)


class ImageDataset(Dataset):
    def __init__(self, root, split, num_classes=6, transform=None):
        n_per_class = 200 if split == "train" else 50
        seed = {"train": 0, "validation": 1}[split]
        self.images, self.targets = make_textures(n_per_class, num_classes, seed)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = self.images[index]
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])


def create_dataset(name, root, split="train", num_classes=6):
    return ImageDataset(root, split, num_classes)
