import torch


class ToTensor:
    """uint8 image in 0..255 to a float tensor in 0..1, as torchvision's ToTensor."""

    def __call__(self, img):
        return img.float().div(255)


class Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, img):
        return (img - self.mean) / self.std


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


def identity(img):
    return img.float() if not torch.is_floating_point(img) else img
