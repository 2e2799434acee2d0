# lossdoctor-expect: frozen_params
"""TrainCheck's reproduction of the PyTorch forum thread 84911, "Obtaining abnormal changes in
loss and accuracy" (OrderLab/TrainCheck-Evaluation-Workloads, silent-issue-detection/
bug-reprod-scripts/pytorch-forum-84911/bug.py;
https://discuss.pytorch.org/t/obtaining-abnormal-changes-in-loss-and-accuracy/84911): an
EfficientNet-b0 fine-tuned on CIFAR-100 with Adam at 1e-3, whose accuracy stays under 1% and whose
loss does not fall. The training code is theirs. CIFAR-100 is replaced by small synthetic 32x32
colour images of 100 classes made here (no download, kept at 32x32 instead of resized to 224),
efficientnet_pytorch by a small EfficientNet with the package's module names, starting from its
own initialization (no pretrained weights are downloaded), and 4 epochs are run instead of 10."""

import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

# Deterministic Behaviour
seed = 786
os.environ["PYTHONHASHSEED"] = str(seed)
torch.manual_seed(seed)
np.random.seed(seed)
random.seed(seed)


def make_images(n, seed, classes=100, size=32):
    """n colour images (uint8, HWC like CIFAR's) of `classes` coloured stroke patterns."""
    rng = np.random.default_rng(4321)  # the same patterns for every split
    patterns = np.zeros((classes, size + 8, size + 8, 3), dtype=np.float32)
    colours = rng.uniform(0.2, 1.0, (classes, 3))
    for c in range(classes):
        for _ in range(2):
            x0, y0, x1, y1 = rng.uniform(6, size + 2, 4)
            for t in np.linspace(0, 1, 40):
                x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
                patterns[c, y - 2:y + 2, x - 2:x + 2] = colours[c]
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, c in enumerate(labels):
        dx, dy = rng.integers(0, 9, 2)
        img = patterns[c, dy:dy + size, dx:dx + size] + rng.normal(0, 0.15, (size, size, 3))
        images[i] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return images, labels


class CIFAR100(torch.utils.data.Dataset):
    """Stands in for torchvision.datasets.CIFAR100 with the thread's transforms (RandomHorizontalFlip,
    ToTensor, Normalize with the thread's means and standard deviations)."""

    mean = np.array([0.2829, 0.2034, 0.1512], dtype=np.float32)
    std = np.array([0.2577, 0.1834, 0.1411], dtype=np.float32)

    def __init__(self, train):
        self.train = train
        self.data, self.targets = make_images(1920 if train else 200, seed=11 if train else 12)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = self.data[index].astype(np.float32) / 255.0
        if self.train and random.random() < 0.5:
            img = img[:, ::-1]
        img = (img - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))), int(self.targets[index])


train_set = CIFAR100(train=True)
valid_set = CIFAR100(train=False)

batch_size = 64
train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=False)
valid_loader = torch.utils.data.DataLoader(valid_set, batch_size=1, shuffle=False)

data_transfer = {"train": train_loader, "valid": valid_loader}


class MBConvBlock(nn.Module):
    def __init__(self, in_ch, out_ch, expand, stride):
        super().__init__()
        mid = in_ch * expand
        self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch)
        self._swish = nn.SiLU()
        self.id_skip = stride == 1 and in_ch == out_ch

    def forward(self, inputs):
        x = self._swish(self._bn0(self._expand_conv(inputs)))
        x = self._swish(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.id_skip else x


class EfficientNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32)
        self._blocks = nn.ModuleList([
            MBConvBlock(32, 16, 1, 1), MBConvBlock(16, 24, 6, 2), MBConvBlock(24, 24, 6, 1),
            MBConvBlock(24, 40, 6, 2), MBConvBlock(40, 80, 6, 2),
        ])
        self._conv_head = nn.Conv2d(80, 320, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(320)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(320, num_classes)
        self._swish = nn.SiLU()

    def forward(self, inputs):
        x = self._swish(self._bn0(self._conv_stem(inputs)))
        for block in self._blocks:
            x = block(x)
        x = self._swish(self._bn1(self._conv_head(x)))
        x = self._avg_pooling(x).flatten(start_dim=1)
        return self._fc(self._dropout(x))

    @classmethod
    def from_pretrained(cls, model_name):
        return cls()


model_transfer = EfficientNet.from_pretrained("efficientnet-b0")
n_inputs = model_transfer._fc.in_features

num_classes = 100
model_transfer._fc = nn.Linear(n_inputs, num_classes)

device = torch.device("cpu")

criterion_transfer = nn.CrossEntropyLoss()
optimizer_transfer = optim.Adam(model_transfer._fc.parameters(), lr=0.001)
model_transfer.to(device)

for name, param in model_transfer.named_parameters():
    if "bn" not in name:
        param.requires_grad = False

for param in model_transfer._fc.parameters():
    param.requires_grad = False

print(model_transfer._fc.in_features)


def train(n_epochs, loaders, model, optimizer, criterion, save_path):
    """returns trained model"""
    valid_loss_min = np.inf
    for epoch in range(1, n_epochs + 1):
        train_loss = 0.0
        valid_loss = 0.0
        correct = 0.0
        total = 0.0
        accuracy = 0.0

        model.train()
        for batch_idx, (data, target) in enumerate(loaders["train"]):
            optimizer.zero_grad()
            output = model(data)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            train_loss += (1 / (batch_idx + 1)) * (float(loss) - train_loss)

        ######################
        # validate the model #
        ######################
        model.eval()
        for batch_idx, (data, target) in enumerate(loaders["valid"]):
            output = model(data)
            loss = criterion(output, target)
            valid_loss += (1 / (batch_idx + 1)) * (float(loss) - valid_loss)
            del loss
            pred = output.data.max(1, keepdim=True)[1]
            correct += np.sum(np.squeeze(pred.eq(target.data.view_as(pred))).cpu().numpy())
            total += data.size(0)

        print("Epoch: {} \tTraining Loss: {:.6f} \tValidation Loss: {:.6f}".format(
            epoch, train_loss, valid_loss))

        accuracy = 100.0 * (correct / total)
        print("\nValid Accuracy: %2d%% (%2d/%2d)" % (accuracy, correct, total))

        if valid_loss <= valid_loss_min:
            print("Validation loss decreased ({:.6f} --> {:.6f}).  Saving model ...".format(
                valid_loss_min, valid_loss))
            valid_loss_min = valid_loss

    return model


model_transfer = train(4, data_transfer, model_transfer, optimizer_transfer,
                       criterion_transfer, "model_transfer.pt")
