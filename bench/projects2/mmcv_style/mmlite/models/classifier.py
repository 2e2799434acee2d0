"""ImageClassifier as mmcls writes it: backbone, neck, head; train_step returns the loss, the
values to log and the number of samples, for the runner and its OptimizerHook."""

from collections import OrderedDict

import torch.nn as nn

from mmlite.registry import MODELS, build_from_cfg


@MODELS.register_module()
class ImageClassifier(nn.Module):
    def __init__(self, backbone, neck, head):
        super().__init__()
        self.backbone = build_from_cfg(backbone, MODELS)
        self.neck = build_from_cfg(neck, MODELS)
        self.head = build_from_cfg(head, MODELS)

    def extract_feat(self, img):
        return self.neck(self.backbone(img))

    def forward_train(self, img, gt_label):
        return self.head.forward_train(self.extract_feat(img), gt_label)

    def simple_test(self, img):
        return self.head.simple_test(self.extract_feat(img))

    def forward(self, img, gt_label=None, return_loss=True):
        if return_loss:
            return self.forward_train(img, gt_label)
        return self.simple_test(img)

    @staticmethod
    def _parse_losses(losses):
        log_vars = OrderedDict((name, value.mean()) for name, value in losses.items())
        loss = sum(v for k, v in log_vars.items() if 'loss' in k)
        return loss, OrderedDict((k, v.item()) for k, v in log_vars.items())

    def train_step(self, data, optimizer):
        losses = self(**data)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data['img']))

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)
