import torch.nn as nn

from mmlite.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    def __init__(self):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, inputs):
        return tuple(self.gap(x).flatten(1) for x in inputs)
