# lossdoctor-expect: train_eval_mode
# ruff: noqa: E501, E741, UP008, UP032, B007, UP030  (the threads' own idioms kept)
"""Coderx7/SimpleNet#2 (https://github.com/Coderx7/SimpleNet/issues/2): "Functional Dropout in
evaluation mode". SimpleNet's forward applies global max pooling and then
F.dropout2d(out, 0.1, training=True), so the trained network in evaluation mode "will give a
different output on every run for the same example"; the answer (the author: "I completely
missed that. it should be fixed now") replaces it with an nn.Dropout module defined in
__init__. Here a narrower SimpleNet (conv 3x3 + BatchNorm + ReLU blocks, max pooling with
Dropout2d after each stage) on synthetic 3x16x16 images of 10 classes, Adadelta as in the
repository's CIFAR-10 recipe, validation after every epoch."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
gen = torch.Generator().manual_seed(0)
templates = F.interpolate(torch.randn(10, 3, 4, 4, generator=gen), size=16, mode="bilinear", align_corners=False)


def make_split(n):
    labels = torch.randint(0, 10, (n,), generator=gen)
    return TensorDataset(templates[labels] + 2.5 * torch.randn(n, 3, 16, 16, generator=gen), labels)


train_loader = DataLoader(make_split(2000), batch_size=100, shuffle=True)
val_loader = DataLoader(make_split(1000), batch_size=250, shuffle=False)


class simplenet(nn.Module):
    def __init__(self, classes=10):
        super(simplenet, self).__init__()
        self.features = self._make_layers()
        self.classifier = nn.Linear(64, classes)
        self.drp = nn.Dropout(0.1)

    def forward(self, x):
        out = self.features(x)
        # Global Max Pooling
        out = F.max_pool2d(out, kernel_size=out.size()[2:])
        out = F.dropout2d(out, 0.1, training=True)
        out = out.view(out.size(0), -1)
        out = self.classifier(out)
        return out

    def _make_layers(self):
        model = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=[3, 3], stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(32, eps=1e-05, momentum=0.05, affine=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, kernel_size=[3, 3], stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(32, eps=1e-05, momentum=0.05, affine=True),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2), dilation=(1, 1), ceil_mode=False),
            nn.Dropout2d(p=0.1),
            nn.Conv2d(32, 64, kernel_size=[3, 3], stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(64, eps=1e-05, momentum=0.05, affine=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, kernel_size=[3, 3], stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(64, eps=1e-05, momentum=0.05, affine=True),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2), dilation=(1, 1), ceil_mode=False),
            nn.Dropout2d(p=0.1),
            nn.Conv2d(64, 64, kernel_size=[3, 3], stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(64, eps=1e-05, momentum=0.05, affine=True),
            nn.ReLU(inplace=True),
        )
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight.data, gain=nn.init.calculate_gain('relu'))
        return model


model = simplenet()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adadelta(model.parameters(), lr=0.1, rho=0.9, eps=1e-3, weight_decay=0.001)

for epoch in range(6):
    model.train()
    for input, target in train_loader:
        output = model(input)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    val_loss, correct = 0.0, 0
    with torch.no_grad():
        for input, target in val_loader:
            output = model(input)
            val_loss += criterion(output, target).item() * input.size(0)
            correct += (output.argmax(1) == target).sum().item()
    print('Epoch: [{0}]\tval loss {1:.4f}\tval prec@1 {2:.2f}'.format(epoch, val_loss / 1000, 100 * correct / 1000))

with torch.no_grad():
    images = next(iter(val_loader))[0][:4]
    print('the same four images, evaluated twice:')
    print(model(images).argmax(1).tolist(), model(images).softmax(1).max(1).values.tolist())
    print(model(images).argmax(1).tolist(), model(images).softmax(1).max(1).values.tolist())
