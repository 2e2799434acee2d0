"""torchvision.transforms' Compose, RandomCrop, RandomHorizontalFlip, ToTensor and Normalize,
for HWC uint8 numpy images (torchvision's take PIL images; the arithmetic is the same)."""
import numpy as np
import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class RandomCrop:
    def __init__(self, size, padding=0):
        self.size, self.padding = size, padding

    def __call__(self, img):
        p = self.padding
        img = np.pad(img, ((p, p), (p, p), (0, 0)))
        top, left = np.random.randint(0, img.shape[0] - self.size + 1, size=2)
        return img[top:top + self.size, left:left + self.size]


class RandomHorizontalFlip:
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        return img[:, ::-1] if np.random.rand() < self.p else img


class ToTensor:
    """HWC uint8 in [0, 255] to a CHW float tensor in [0, 1]."""

    def __call__(self, img):
        return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div(255)


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, tensor):
        return (tensor - self.mean) / self.std
