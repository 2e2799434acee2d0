"""A small synthetic stand-in for an ImageFolder: 3x16x16 colour images of blobs whose position
and colour decide the class, made from a fixed seed."""

import torch
from torch.utils.data import Dataset

MEAN = (0.35, 0.35, 0.35)
STD = (0.28, 0.28, 0.28)


def make_images(n, num_classes, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    images = 0.3 * torch.rand(n, 3, 16, 16, generator=g)
    rows = (labels % 4) * 4 + torch.randint(0, 2, (n,), generator=g)
    colour = labels // 4
    for i in range(n):
        r = int(rows[i])
        images[i, int(colour[i]), r:r + 4, 4:12] += 0.7
        images[i, 2, :, :] += 0.2 * torch.rand(1, generator=g)
    return images.clamp(0, 1), labels


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __call__(self, img):
        return (img - self.mean) / self.std


class RandomHorizontalFlip:
    def __init__(self, seed=0):
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, img):
        return img.flip(-1) if torch.rand(1, generator=self.g) < 0.5 else img


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class SyntheticImageFolder(Dataset):
    def __init__(self, split, transform=None, num_classes=8, size=None):
        n = size or (1536 if split == "train" else 512)
        self.images, self.targets = make_images(n, num_classes, seed=0 if split == "train" else 1)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = self.images[index]
        if self.transform is not None:
            img = self.transform(img)
        return img, self.targets[index]
