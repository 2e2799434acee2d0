"""A synthetic stand-in for an ImageFolder (one-channel 16x16 pictures of 5 shapes), made from
a fixed seed; nothing is downloaded."""

import torch

NUM_CLASSES = 5


def _shape(label, size, rng):
    img = torch.zeros(size, size)
    c = torch.randint(5, size - 5, (2,), generator=rng)
    r = 3
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    dy, dx = yy - c[0], xx - c[1]
    masks = [dy.abs().le(r) & dx.abs().le(r),                  # square
             (dy ** 2 + dx ** 2).le(r * r),                     # disc
             dy.abs().le(r) & dx.abs().le(1),                    # vertical bar
             dx.abs().le(r) & dy.abs().le(1),                    # horizontal bar
             (dy - dx).abs().le(1) & dy.abs().le(r)]             # diagonal
    img[masks[label]] = 1.0
    return img


class SyntheticShapes(torch.utils.data.Dataset):
    def __init__(self, split, transform=None, n=None, size=16):
        n = n or (1500 if split == "train" else 400)
        rng = torch.Generator().manual_seed(0 if split == "train" else 1)
        self.targets = torch.randint(0, NUM_CLASSES, (n,), generator=rng).tolist()
        noise = torch.rand(n, 1, size, size, generator=rng) * 0.6
        shapes = torch.stack([_shape(t, size, rng) for t in self.targets]).unsqueeze(1)
        self.images = ((0.4 * shapes + noise).clamp(0, 1) * 255).to(torch.uint8)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img, target = self.images[index], self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        return img, target
