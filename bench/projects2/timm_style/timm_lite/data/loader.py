"""create_loader as timm writes it: normalization in the loader, shuffle when training."""

import torch
from torch.utils.data import DataLoader

IMAGENET_DEFAULT_MEAN = (0.5, 0.5, 0.5)
IMAGENET_DEFAULT_STD = (0.35, 0.35, 0.35)


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __call__(self, img):
        return (img - self.mean) / self.std


class RandomFlip:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, img):
        return img.flip(-1) if torch.rand(1, generator=self.g) < 0.5 else img


def create_loader(dataset, batch_size, is_training=False, mean=IMAGENET_DEFAULT_MEAN,
                  std=IMAGENET_DEFAULT_STD, num_workers=0, seed=42):
    normalize = Normalize(mean, std)
    if is_training:
        flip = RandomFlip(seed)
        dataset.transform = lambda img: normalize(flip(img))
    else:
        dataset.transform = normalize
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=is_training,
                      drop_last=is_training, num_workers=num_workers, generator=generator)
