# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Deci-AI/super-gradients#416 (https://github.com/Deci-AI/super-gradients/issues/416), the
reporter's script with the params the thread gives as working. The same train_params
("initial_lr": 0.001, SGD with weight_decay 0.0001, momentum 0.9, nesterov; cross_entropy) run by a
plain loop in the trainer's order (train epoch, then validation), on an ImageFolder-style dataset
(samples listed class by class) of 2000 synthetic 16x16 "ImageNet" images of 10 classes with a
small ResNet-style network, batch 50, 8 epochs, 500 validation images, with
dataloader_params = {"batch_size": 50, "shuffle": True}."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)
NUM_CLASSES = 10


class FolderDataset(Dataset):

    def __init__(self, per_class, seed):
        rng = np.random.default_rng(seed)
        protos = np.random.default_rng(123).normal(0, 1, size=(NUM_CLASSES, 3, 16, 16)).astype(np.float32)
        self.samples = []
        for c in range(NUM_CLASSES):
            for _ in range(per_class):
                img = 0.6 * protos[c] + rng.normal(0, 1, size=(3, 16, 16)).astype(np.float32)
                self.samples.append((img, c))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        img, c = self.samples[i]
        if np.random.rand() < 0.5:
            img = img[:, :, ::-1].copy()
        return torch.from_numpy(img), c


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetSmall(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


dataloader_params = {"batch_size": 50, "shuffle": True}
train_params = {"max_epochs": 8,
                "initial_lr": 0.001,
                "optimizer": "SGD",
                "optimizer_params": {"weight_decay": 0.0001, "momentum": 0.9, "nesterov": True},
                "loss": "cross_entropy",
                }

np.random.seed(0)
train_set = FolderDataset(per_class=200, seed=1)
valid_set = FolderDataset(per_class=50, seed=2)
train_loader = DataLoader(train_set, **dataloader_params)
valid_loader = DataLoader(valid_set, batch_size=dataloader_params["batch_size"])

net = ResNetSmall(NUM_CLASSES)
optimizer = torch.optim.SGD(net.parameters(), lr=train_params["initial_lr"], **train_params["optimizer_params"])
criterion = nn.CrossEntropyLoss()

for epoch in range(train_params["max_epochs"]):
    net.train()
    tot, correct, loss_sum = 0, 0, 0.0
    for inputs, targets in train_loader:
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * targets.size(0)
        correct += (outputs.argmax(1) == targets).sum().item()
        tot += targets.size(0)
    net.eval()
    vtot, vcorrect, vloss = 0, 0, 0.0
    predicted = torch.zeros(NUM_CLASSES, dtype=torch.long)
    with torch.no_grad():
        for inputs, targets in valid_loader:
            outputs = net(inputs)
            vloss += criterion(outputs, targets).item() * targets.size(0)
            pred = outputs.argmax(1)
            vcorrect += (pred == targets).sum().item()
            vtot += targets.size(0)
            predicted += torch.bincount(pred, minlength=NUM_CLASSES)
    print("epoch %d  Loss %.4f  Accuracy %.3f  | valid Loss %.4f  Accuracy %.3f  predicted per class %s"
          % (epoch, loss_sum / tot, correct / tot, vloss / vtot, vcorrect / vtot, predicted.tolist()))
