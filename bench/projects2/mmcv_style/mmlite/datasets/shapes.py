"""A synthetic stand-in for an mmcls dataset read from an annotation file: 3x16x16 images of one
of four shapes (square, disc, plus, ring) at a random place, listed class by class as the
annotation file lists them; a pipeline of transforms from the config."""

import torch
from torch.utils.data import Dataset

from mmlite.registry import DATASETS, PIPELINES, build_from_cfg

CLASSES = ('square', 'disc', 'plus', 'ring')


def draw(cls, cy, cx, size=16):
    ys, xs = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)),
                            indexing='ij')
    dy, dx = (ys - cy).abs(), (xs - cx).abs()
    radius = (dy ** 2 + dx ** 2).sqrt()
    if cls == 0:
        return ((dy <= 3) & (dx <= 3)).float()
    if cls == 1:
        return (radius <= 3.5).float()
    if cls == 2:
        return (((dy <= 1) & (dx <= 4)) | ((dx <= 1) & (dy <= 4))).float()
    return ((radius >= 2.5) & (radius <= 4.0)).float()


def make_shapes(n_per_class, seed):
    g = torch.Generator().manual_seed(seed)
    images, labels = [], []
    for cls in range(len(CLASSES)):
        for _ in range(n_per_class):
            cy, cx = (4 + 8 * torch.rand(2, generator=g)).tolist()
            colour = 0.5 + 0.5 * torch.rand(3, 1, 1, generator=g)
            img = colour * draw(cls, cy, cx) + 0.15 * torch.randn(3, 16, 16, generator=g)
            images.append(img)
            labels.append(cls)
    return torch.stack(images), torch.tensor(labels)


@PIPELINES.register_module()
class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)

    def __call__(self, results):
        results['img'] = (results['img'] - self.mean) / self.std
        return results


@PIPELINES.register_module()
class RandomFlip:
    def __init__(self, flip_prob=0.5):
        self.flip_prob = flip_prob
        self.g = torch.Generator().manual_seed(0)

    def __call__(self, results):
        if torch.rand(1, generator=self.g) < self.flip_prob:
            results['img'] = results['img'].flip(-1)
        return results


@DATASETS.register_module()
class ShapesDataset(Dataset):
    CLASSES = CLASSES

    def __init__(self, split, pipeline):
        n_per_class, seed = {'train': (300, 0), 'val': (60, 1)}[split]
        self.images, self.labels = make_shapes(n_per_class, seed)
        self.pipeline = [build_from_cfg(t, PIPELINES) for t in pipeline]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        results = {'img': self.images[idx].clone(), 'gt_label': int(self.labels[idx])}
        for transform in self.pipeline:
            results = transform(results)
        return results
