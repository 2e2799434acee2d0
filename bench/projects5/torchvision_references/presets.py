"""ClassificationPresetTrain / ClassificationPresetEval, as torchvision's
references/classification/presets.py builds them (here on uint8 CHW tensors)."""

import torch


class ClassificationPresetTrain:
    def __init__(self, mean=(0.5,), std=(0.25,), hflip_prob=0.5):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)
        self.hflip_prob = hflip_prob

    def __call__(self, img):
        if torch.rand(()) < self.hflip_prob:
            img = img.flip(-1)
        img = img.to(torch.float32) / 255.0  # ToDtype(torch.float, scale=True)
        return (img - self.mean) / self.std


class ClassificationPresetEval:
    def __init__(self, mean=(0.5,), std=(0.25,)):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, img):
        img = img.to(torch.float32) / 255.0  # ToDtype(torch.float, scale=True)
        return (img - self.mean) / self.std
