"""The parts of torchvision this example uses (datasets.CIFAR10 and its transforms), written on
numpy and torch so the project runs without torchvision and without a download."""
from . import datasets, transforms  # noqa: F401
