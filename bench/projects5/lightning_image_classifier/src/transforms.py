"""torchvision.transforms-like callables on HWC uint8 numpy images."""

import numpy as np
import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for t in self.transforms:
            image = t(image)
        return image


class RandomHorizontalFlip:
    """Flips the image left-right with probability p (before ToTensor: HWC)."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, image):
        return image[:, ::-1].copy() if np.random.rand() < self.p else image


class ToTensor:
    """HWC uint8 in [0, 255] -> CHW float in [0, 1]."""

    def __call__(self, image):
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255.0


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, tensor):
        return (tensor - self.mean) / self.std
