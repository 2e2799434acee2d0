# lossdoctor-expect:
# ruff: noqa: E501, E741, UP008, UP032, B007  (the threads' own idioms kept)
"""facebookresearch/pycls#21 (https://github.com/facebookresearch/pycls/pull/21), the fix applied: "Fixed Cifar10
dataset __getitem__ transformations modifying loaded data permanently". pycls's Cifar10 dataset
indexes its loaded float array and normalizes the image in place (transforms.color_norm writes
im[i] = (im[i] - mean[i]) / std[i] into the array's view), so every access normalizes the
stored data again; with DATA_LOADER.NUM_WORKERS=0 "the model fails to train after ~3 epochs"
(with worker processes each epoch got a fresh copy, which hid it); the fix copies the selected
data in __getitem__. Here the dataset, the
transforms and a small CIFAR ResNet (res_basic blocks) in pycls's style on synthetic 3x16x16
images of 10 classes in 0-255 pixels, SGD 0.1 momentum 0.9 with the cosine schedule,
NUM_WORKERS=0, 8 epochs, the test set evaluated after every epoch."""

import math

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
_MEAN = [125.3, 123.0, 113.9]
_SD = [63.0, 62.1, 66.7]
IM_SIZE = 16


def color_norm(im, mean, std):
    """Performs per-channel normalization (CHW format)."""
    for i in range(im.shape[0]):
        im[i] = im[i] - mean[i]
        im[i] = im[i] / std[i]
    return im


def horizontal_flip(im, p, order="CHW"):
    if np.random.uniform() < p:
        im = im[:, :, ::-1] if order == "CHW" else im[:, ::-1, :]
    return im


def random_crop(im, size, pad_size=0):
    if pad_size > 0:
        im = np.pad(im, ((0, 0), (pad_size, pad_size), (pad_size, pad_size)), mode="constant")
    h, w = im.shape[1:]
    y = np.random.randint(0, h - size)
    x = np.random.randint(0, w - size)
    im_crop = im[:, y:(y + size), x:(x + size)]
    assert im_crop.shape[1:] == (size, size)
    return im_crop


TEMPLATES = rng.uniform(60, 190, (10, 3, 4, 4)).repeat(4, axis=2).repeat(4, axis=3)


def synthetic_cifar(n, templates=TEMPLATES):
    labels = rng.integers(0, 10, n)
    inputs = templates[labels] + rng.normal(0, 45, (n, 3, IM_SIZE, IM_SIZE))
    return np.clip(inputs, 0, 255).astype(np.float32), list(labels)


np.random.seed(0)
TRAIN_DATA, TEST_DATA = synthetic_cifar(3000), synthetic_cifar(1000)


class Cifar10(torch.utils.data.Dataset):
    """CIFAR-10 dataset."""

    def __init__(self, split):
        self._split = split
        self._inputs, self._labels = TRAIN_DATA if split == "train" else TEST_DATA

    def _prepare_im(self, im):
        """Prepares the image for network input."""
        im = color_norm(im, _MEAN, _SD)
        if self._split == "train":
            im = horizontal_flip(im=im, p=0.5)
            im = random_crop(im=im, size=IM_SIZE, pad_size=2)
        return im

    def __getitem__(self, index):
        im, label = self._inputs[index, ...].copy(), self._labels[index]
        im = self._prepare_im(im)
        return np.ascontiguousarray(im), label

    def __len__(self):
        return self._inputs.shape[0]


class BasicTransform(nn.Module):
    def __init__(self, w_in, w_out, stride):
        super().__init__()
        self.a = nn.Conv2d(w_in, w_out, 3, stride=stride, padding=1, bias=False)
        self.a_bn = nn.BatchNorm2d(w_out)
        self.a_relu = nn.ReLU(inplace=True)
        self.b = nn.Conv2d(w_out, w_out, 3, stride=1, padding=1, bias=False)
        self.b_bn = nn.BatchNorm2d(w_out)

    def forward(self, x):
        return self.b_bn(self.b(self.a_relu(self.a_bn(self.a(x)))))


class ResBlock(nn.Module):
    def __init__(self, w_in, w_out, stride):
        super().__init__()
        self.proj_block = (w_in != w_out) or (stride != 1)
        if self.proj_block:
            self.proj = nn.Conv2d(w_in, w_out, 1, stride=stride, bias=False)
            self.bn = nn.BatchNorm2d(w_out)
        self.f = BasicTransform(w_in, w_out, stride)
        self.relu = nn.ReLU(True)

    def forward(self, x):
        x = self.bn(self.proj(x)) + self.f(x) if self.proj_block else x + self.f(x)
        return self.relu(x)


class ResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(True))
        self.s1 = ResBlock(16, 16, 1)
        self.s2 = ResBlock(16, 32, 2)
        self.s3 = ResBlock(32, 64, 2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.head(self.s3(self.s2(self.s1(self.stem(x)))))


def get_epoch_lr(cur_epoch, base_lr=0.1, max_epoch=8):
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * cur_epoch / max_epoch))


train_loader = torch.utils.data.DataLoader(Cifar10("train"), batch_size=128, shuffle=True, num_workers=0, drop_last=True)
test_loader = torch.utils.data.DataLoader(Cifar10("test"), batch_size=200, shuffle=False, num_workers=0)
model = ResNet()
loss_fun = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)

for cur_epoch in range(8):
    lr = get_epoch_lr(cur_epoch)
    for param_group in optimizer.param_groups:
        param_group["lr"] = lr
    model.train()
    train_loss, n = 0.0, 0
    for inputs, labels in train_loader:
        preds = model(inputs)
        loss = loss_fun(preds, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_loss += loss.item() * inputs.size(0)
        n += inputs.size(0)
    model.eval()
    test_loss, top1, m = 0.0, 0, 0
    with torch.no_grad():
        for inputs, labels in test_loader:
            preds = model(inputs)
            test_loss += loss_fun(preds, labels).item() * inputs.size(0)
            top1 += (preds.argmax(1) == labels).sum().item()
            m += inputs.size(0)
    print(f"epoch {cur_epoch + 1}/8 lr {lr:.4f} train loss {train_loss / n:.4f} "
          f"test loss {test_loss / m:.4f} top1 err {100 - 100 * top1 / m:.2f}")
