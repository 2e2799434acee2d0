"""MeanMetric, MaxMetric and multiclass Accuracy in the manner of torchmetrics."""

import torch


class MeanMetric:
    def __init__(self):
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def __call__(self, value, weight=1):
        self.total += float(value) * weight
        self.count += weight
        return value

    def compute(self):
        return torch.tensor(self.total / max(self.count, 1))


class MaxMetric(MeanMetric):
    def reset(self):
        self.value = -float("inf")

    def __call__(self, value):
        self.value = max(self.value, float(value))

    def compute(self):
        return torch.tensor(self.value)


class Accuracy(MeanMetric):
    def __init__(self, task="multiclass", num_classes=None):
        super().__init__()

    def __call__(self, preds, target):
        correct = (preds == target).float()
        super().__call__(correct.mean(), len(target))
        return correct.mean()
