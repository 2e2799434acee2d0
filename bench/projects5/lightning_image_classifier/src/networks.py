"""The backbone and head, kept apart so that a finetuning callback can freeze `features`."""

from torch import nn


def conv_block(c_in, c_out, dropout):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Dropout2d(dropout))


class SmallConvNet(nn.Module):
    def __init__(self, num_classes=4, width=16, dropout=0.1):
        super().__init__()
        self.features = nn.Sequential(conv_block(3, width, dropout),
                                      conv_block(width, width * 2, dropout))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout),
                                        nn.Linear(width * 2 * 3 * 3, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
