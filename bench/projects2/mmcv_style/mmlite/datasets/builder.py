import torch
from torch.utils.data import DataLoader

from mmlite.registry import DATASETS, build_from_cfg


def build_dataset(cfg):
    return build_from_cfg(cfg, DATASETS)


def collate(batch):
    return {'img': torch.stack([b['img'] for b in batch]),
            'gt_label': torch.tensor([b['gt_label'] for b in batch])}


def build_dataloader(dataset, samples_per_gpu, workers_per_gpu, shuffle=True, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=samples_per_gpu, shuffle=shuffle,
                      num_workers=workers_per_gpu, collate_fn=collate, generator=generator)
