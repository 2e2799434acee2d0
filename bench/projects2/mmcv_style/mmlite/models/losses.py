import torch.nn as nn
import torch.nn.functional as F

from mmlite.registry import MODELS


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    def __init__(self, reduction='mean', loss_weight=1.0):
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, cls_score, label):
        return self.loss_weight * F.cross_entropy(cls_score, label, reduction=self.reduction)
