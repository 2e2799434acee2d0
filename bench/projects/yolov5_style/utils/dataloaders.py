import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class LoadShapes(Dataset):
    """Images with a few coloured squares on a grid and their labels, as YOLO label rows
    (class, x, y, w, h), made from a fixed seed."""

    def __init__(self, n, img=16, grid=4, nc=3, seed=0, augment=False, hyp=None):
        rng = np.random.default_rng(seed)
        self.n, self.augment, self.hyp = n, augment, hyp or {}
        cell = img // grid
        self.imgs = (rng.random((n, 3, img, img)) * 150).astype(np.uint8)
        self.labels = []
        for i in range(n):
            k = rng.integers(1, 4)
            cells = rng.choice(grid * grid, size=k, replace=False)
            rows = []
            for flat in cells:
                gy, gx = divmod(int(flat), grid)
                cls = int(rng.integers(0, nc))
                y0, x0 = gy * cell, gx * cell
                self.imgs[i, cls, y0:y0 + cell, x0:x0 + cell] = 110 + rng.integers(0, 145)
                rows.append([cls, (gx + 0.5) / grid, (gy + 0.5) / grid, 1 / grid, 1 / grid])
            self.labels.append(np.array(rows, dtype=np.float32))
        self.rng = np.random.default_rng(seed + 1)

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        img = self.imgs[index]
        labels = self.labels[index].copy()
        if self.augment and self.rng.random() < self.hyp.get("fliplr", 0.0):
            img = np.flip(img, axis=2)
            labels[:, 1] = 1 - labels[:, 1]
        labels_out = torch.zeros((len(labels), 6))
        labels_out[:, 1:] = torch.from_numpy(labels)
        return torch.from_numpy(np.ascontiguousarray(img)), labels_out

    @staticmethod
    def collate_fn(batch):
        im, label = zip(*batch)
        for i, lb in enumerate(label):
            lb[:, 0] = i  # add target image index for build_targets()
        return torch.stack(im, 0), torch.cat(label, 0)


def create_dataloader(n, batch_size, hyp=None, augment=False, seed=0, shuffle=False, workers=0,
                      **kwargs):
    dataset = LoadShapes(n, seed=seed, augment=augment, hyp=hyp, **kwargs)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                        collate_fn=LoadShapes.collate_fn)
    return loader, dataset
