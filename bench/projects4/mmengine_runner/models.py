"""A BaseModel in the manner of mmengine.model: forward(inputs, data_samples, mode) returns a
dict of losses ('loss'), predictions ('predict') or raw outputs ('tensor'); train_step and
val_step wrap it, and parse_losses sums every key holding 'loss'."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from registry import MODELS


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    def __init__(self, loss_weight=1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, cls_score, label):
        return self.loss_weight * F.cross_entropy(cls_score, label)


class MLPBackbone(nn.Module):
    def __init__(self, in_channels, hidden_channels, num_layers):
        super().__init__()
        layers, channels = [], in_channels
        for _ in range(num_layers):
            layers += [nn.Linear(channels, hidden_channels), nn.BatchNorm1d(hidden_channels),
                       nn.ReLU(inplace=True)]
            channels = hidden_channels
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class LinearClsHead(nn.Module):
    def __init__(self, num_classes, in_channels, loss):
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)
        self.loss_module = MODELS.build(loss)

    def forward(self, feats):
        return self.fc(feats)

    def loss(self, feats, data_samples):
        cls_score = self(feats)
        return dict(loss_cls=self.loss_module(cls_score, data_samples))

    def predict(self, feats):
        return F.softmax(self(feats), dim=1)


class BaseModel(nn.Module):
    def parse_losses(self, losses):
        log_vars = {k: v.mean() for k, v in losses.items() if "loss" in k}
        loss = sum(log_vars.values())
        log_vars["loss"] = loss
        return loss, {k: v.item() for k, v in log_vars.items()}

    def train_step(self, data, optim_wrapper):
        losses = self(**data, mode="loss")
        parsed_losses, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(parsed_losses)
        return log_vars

    def val_step(self, data):
        return self(**data, mode="loss")


@MODELS.register_module()
class TabularClassifier(BaseModel):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = MLPBackbone(**backbone)
        self.head = LinearClsHead(**head)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        feats = self.backbone(inputs)
        if mode == "loss":
            return self.head.loss(feats, data_samples)
        if mode == "predict":
            return self.head.predict(feats)
        return self.head(feats)
