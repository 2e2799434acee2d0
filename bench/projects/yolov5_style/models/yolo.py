import torch
import torch.nn as nn

from models.common import Bottleneck, Conv


class Detect(nn.Module):
    def __init__(self, nc=3, ch=32):
        super().__init__()
        self.nc = nc
        self.no = nc + 1  # outputs per cell: objectness, classes
        self.m = nn.Conv2d(ch, self.no, 1)

    def forward(self, x):
        p = self.m(x).permute(0, 2, 3, 1).contiguous()  # (bs, ny, nx, no)
        if self.training:
            return p
        return torch.cat((p[..., :1].sigmoid(), p[..., 1:].sigmoid()), -1), p


class Model(nn.Module):
    def __init__(self, nc=3, ch=3):
        super().__init__()
        self.model = nn.Sequential(
            Conv(ch, 16, 3, 1),  # 0
            Conv(16, 32, 3, 2),  # 1-P1/2
            Bottleneck(32, 32),  # 2
            Conv(32, 32, 3, 2),  # 3-P2/4
            Bottleneck(32, 32),  # 4
            Detect(nc, 32),  # 5
        )
        self._initialize_biases()

    def forward(self, x):
        return self.model(x)

    def _initialize_biases(self):
        m = self.model[-1]
        b = m.m.bias.data
        b[0] += -2.0  # obj prior
        b[1:] += -1.0
