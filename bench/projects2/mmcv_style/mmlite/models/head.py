import torch.nn as nn

from mmlite.registry import MODELS, build_from_cfg


@MODELS.register_module()
class LinearClsHead(nn.Module):
    def __init__(self, num_classes, in_channels, loss):
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)
        self.compute_loss = build_from_cfg(loss, MODELS)

    def forward_train(self, x, gt_label):
        cls_score = self.fc(x[-1])
        return {'loss': self.compute_loss(cls_score, gt_label)}

    def simple_test(self, x):
        return self.fc(x[-1])
