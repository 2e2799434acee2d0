"""The part of timm's `create_model` this example needs, for a small ResNet trained from
scratch (no pretrained weights are downloaded): `default_cfg` with the normalization
statistics and `get_classifier()`."""

import torch.nn as nn

IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)


class BasicBlock(nn.Module):
    def __init__(self, in_chs, out_chs, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.downsample = None
        if stride != 1 or in_chs != out_chs:
            self.downsample = nn.Sequential(nn.Conv2d(in_chs, out_chs, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_chs))
        self.act2 = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return self.act2(x + shortcut)


class ResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64), num_classes=1000, drop_rate=0.0):
        super().__init__()
        self.default_cfg = {"mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD}
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.act1 = nn.ReLU(inplace=True)
        layers, in_chs = [], widths[0]
        for i, w in enumerate(widths):
            layers.append(BasicBlock(in_chs, w, stride=1 if i == 0 else 2))
            in_chs = w
        self.layers = nn.Sequential(*layers)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.drop_rate = drop_rate
        self.fc = nn.Linear(in_chs, num_classes)

    def get_classifier(self):
        return self.fc

    def forward_features(self, x):
        return self.layers(self.act1(self.bn1(self.conv1(x))))

    def forward(self, x):
        x = self.global_pool(self.forward_features(x)).flatten(1)
        if self.drop_rate:
            x = nn.functional.dropout(x, p=self.drop_rate, training=self.training)
        return self.fc(x)


def create_model(model_name, pretrained=False, num_classes=1000, **kwargs):
    if pretrained:
        raise RuntimeError("no pretrained weights offline: pass pretrained=False")
    widths = {"resnet10t": (16, 32, 64), "resnet18d": (32, 64, 128)}[model_name]
    return ResNet(widths, num_classes=num_classes, **kwargs)
