"""A small ResNet-like backbone with mmcls's options: frozen_stages (the stem is stage 0, and
stages up to this index are frozen: eval mode and no gradients), norm_eval."""

import torch.nn as nn

from mmlite.registry import MODELS


def conv_bn_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


@MODELS.register_module()
class TinyResNet(nn.Module):
    def __init__(self, depth=3, base_channels=16, frozen_stages=-1, norm_eval=False):
        super().__init__()
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.stem = conv_bn_relu(3, base_channels, 1)
        channels = base_channels
        self.res_layers = []
        for i in range(depth):
            out = base_channels * 2 ** min(i, 2)
            layer = nn.Sequential(conv_bn_relu(channels, out, 1 if i == 0 else 2),
                                  conv_bn_relu(out, out, 1))
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
            channels = out
        self._freeze_stages()

    def _freeze_stages(self):
        if self.frozen_stages >= 0:
            self.stem.eval()
            for param in self.stem.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            m = getattr(self, f'layer{i}')
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def forward(self, x):
        x = self.stem(x)
        for name in self.res_layers:
            x = getattr(self, name)(x)
        return (x,)

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self
