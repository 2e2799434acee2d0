# lossdoctor-expect: data_pipeline
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""bigmb/Unet-Segmentation-Pytorch-Nest-of-Unets#30
(https://github.com/bigmb/Unet-Segmentation-Pytorch-Nest-of-Unets/pull/30), on Data_Loader.py
as it stood before it (3b52146):
Images_Dataset_folder's default image transform is CenterCrop(96), RandomRotation((-10, 10)),
ColorJitter(0.4, 0.4, 0.4), ToTensor, Normalize(0.5, 0.5) and its default label transform is
CenterCrop(96), Grayscale, ToTensor; __getitem__ returns self.tx(i1), self.lx(l1). The
repository's pytorch_run.py around it (U_Net from Models.py, calc_loss from losses.py: 0.5 *
binary_cross_entropy_with_logits + 0.5 * dice on the sigmoid, Adam(0.001), CosineAnnealingLR(opt,
int(1e10), eta_min=1e-5) stepped with scheduler.step(i), batch 4, 15 epochs, 15% of the folder held
out through SubsetRandomSampler, the weights kept whenever the validation loss falls and loaded
back at the end). Here the same code on 120 synthetic 52x52 RGB images of bright blobs on a
textured background with their 0/255 masks held in memory (no files), CenterCrop(48) in place of
96, U_Net's filters starting at 8 instead of 64; torchvision's transforms are re-written below in
a few lines (there is no torchvision in this environment), drawing their random numbers from
torch's generator as torchvision does. At the end the held-out images, center-cropped and
normalized without augmentation, are scored with a dice on sigmoid > 0.5 against their 0/1
masks."""

import copy
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.data
from PIL import Image
from torch.utils.data.sampler import SubsetRandomSampler

torch.manual_seed(0)
np.random.seed(0)


# ---- the few torchvision transforms the repository uses ----
class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class CenterCrop:
    def __init__(self, size):
        self.size = size

    def __call__(self, img):
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return img.crop((left, top, left + self.size, top + self.size))


class ColorJitter:
    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0):
        self.brightness, self.contrast = brightness, contrast

    def __call__(self, img):
        a = np.asarray(img).astype(np.float32)
        b = float(torch.empty(1).uniform_(1 - self.brightness, 1 + self.brightness))
        c = float(torch.empty(1).uniform_(1 - self.contrast, 1 + self.contrast))
        a = a * b
        a = (a - a.mean()) * c + a.mean()
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


class RandomRotation:
    def __init__(self, degrees):
        self.degrees = degrees

    def __call__(self, img):
        angle = float(torch.empty(1).uniform_(float(self.degrees[0]), float(self.degrees[1])).item())
        return img.rotate(angle, resample=Image.NEAREST)


class Grayscale:
    def __call__(self, img):
        return img.convert('L')


class ToTensor:
    def __call__(self, img):
        a = np.asarray(img).astype(np.float32) / 255.0
        if a.ndim == 2:
            a = a[:, :, None]
        return torch.from_numpy(a.transpose(2, 0, 1).copy())


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, t):
        return (t - self.mean) / self.std


# ---- Models.py ----
class conv_block(nn.Module):
    def __init__(self, in_ch, out_ch):
        super(conv_block, self).__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True))

    def forward(self, x):
        return self.conv(x)


class up_conv(nn.Module):
    def __init__(self, in_ch, out_ch):
        super(up_conv, self).__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True))

    def forward(self, x):
        return self.up(x)


class U_Net(nn.Module):
    def __init__(self, in_ch=3, out_ch=1):
        super(U_Net, self).__init__()
        n1 = 8
        filters = [n1, n1 * 2, n1 * 4, n1 * 8, n1 * 16]
        self.Maxpool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Maxpool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Maxpool3 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Maxpool4 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.Conv1 = conv_block(in_ch, filters[0])
        self.Conv2 = conv_block(filters[0], filters[1])
        self.Conv3 = conv_block(filters[1], filters[2])
        self.Conv4 = conv_block(filters[2], filters[3])
        self.Conv5 = conv_block(filters[3], filters[4])
        self.Up5 = up_conv(filters[4], filters[3])
        self.Up_conv5 = conv_block(filters[4], filters[3])
        self.Up4 = up_conv(filters[3], filters[2])
        self.Up_conv4 = conv_block(filters[3], filters[2])
        self.Up3 = up_conv(filters[2], filters[1])
        self.Up_conv3 = conv_block(filters[2], filters[1])
        self.Up2 = up_conv(filters[1], filters[0])
        self.Up_conv2 = conv_block(filters[1], filters[0])
        self.Conv = nn.Conv2d(filters[0], out_ch, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        e1 = self.Conv1(x)
        e2 = self.Maxpool1(e1)
        e2 = self.Conv2(e2)
        e3 = self.Maxpool2(e2)
        e3 = self.Conv3(e3)
        e4 = self.Maxpool3(e3)
        e4 = self.Conv4(e4)
        e5 = self.Maxpool4(e4)
        e5 = self.Conv5(e5)
        d5 = self.Up5(e5)
        d5 = torch.cat((e4, d5), dim=1)
        d5 = self.Up_conv5(d5)
        d4 = self.Up4(d5)
        d4 = torch.cat((e3, d4), dim=1)
        d4 = self.Up_conv4(d4)
        d3 = self.Up3(d4)
        d3 = torch.cat((e2, d3), dim=1)
        d3 = self.Up_conv3(d3)
        d2 = self.Up2(d3)
        d2 = torch.cat((e1, d2), dim=1)
        d2 = self.Up_conv2(d2)
        out = self.Conv(d2)
        return out


# ---- losses.py ----
def dice_loss(prediction, target):
    smooth = 1.0
    i_flat = prediction.view(-1)
    t_flat = target.view(-1)
    intersection = (i_flat * t_flat).sum()
    return 1 - ((2. * intersection + smooth) / (i_flat.sum() + t_flat.sum() + smooth))


def calc_loss(prediction, target, bce_weight=0.5):
    bce = F.binary_cross_entropy_with_logits(prediction, target)
    prediction = torch.sigmoid(prediction)
    dice = dice_loss(prediction, target)
    loss = bce * bce_weight + dice * (1 - bce_weight)
    return loss


# ---- Data_Loader.py, images held in memory ----
def make_pair(rng):
    size = 52
    yy, xx = np.mgrid[0:size, 0:size]
    img = rng.uniform(40, 120, size=(size, size, 3))
    img += 20 * np.sin(xx / rng.uniform(2, 5))[:, :, None]
    mask = np.zeros((size, size), dtype=np.uint8)
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.uniform(8, 44, size=2)
        r = rng.uniform(3, 7)
        blob = (yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2
        mask[blob] = 255
        img[blob] += rng.uniform(70, 110) * np.array([1.0, 0.8, 0.6])
    img = np.clip(img, 0, 255).astype(np.uint8)
    return Image.fromarray(img), Image.fromarray(mask)


class Images_Dataset_folder(torch.utils.data.Dataset):
    def __init__(self, images, labels, transformI=None, transformM=None):
        self.images = images
        self.labels = labels
        self.transformI = transformI
        self.transformM = transformM
        if self.transformI:
            self.tx = self.transformI
        else:
            self.tx = Compose([
                CenterCrop(48),
                RandomRotation((-10, 10)),
                ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4),
                ToTensor(),
                Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
            ])
        if self.transformM:
            self.lx = self.transformM
        else:
            self.lx = Compose([
                CenterCrop(48),
                Grayscale(),
                ToTensor(),
            ])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        i1 = self.images[i]
        l1 = self.labels[i]
        return self.tx(i1), self.lx(l1)


rng = np.random.default_rng(0)
pairs = [make_pair(rng) for _ in range(120)]
Training_Data = Images_Dataset_folder([p[0] for p in pairs], [p[1] for p in pairs])

batch_size = 4
valid_size = 0.15
epoch = 15
random_seed = 7
shuffle = True
valid_loss_min = np.inf
epoch_valid = epoch - 2

num_train = len(Training_Data)
indices = list(range(num_train))
split = int(np.floor(valid_size * num_train))
if shuffle:
    np.random.seed(random_seed)
    np.random.shuffle(indices)
train_idx, valid_idx = indices[split:], indices[:split]
train_sampler = SubsetRandomSampler(train_idx)
valid_sampler = SubsetRandomSampler(valid_idx)
train_loader = torch.utils.data.DataLoader(Training_Data, batch_size=batch_size, sampler=train_sampler)
valid_loader = torch.utils.data.DataLoader(Training_Data, batch_size=batch_size, sampler=valid_sampler)

model_test = U_Net(3, 1)
initial_lr = 0.001
opt = torch.optim.Adam(model_test.parameters(), lr=initial_lr)
MAX_STEP = int(1e10)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, MAX_STEP, eta_min=1e-5)
best_state = None

for i in range(epoch):
    train_loss = 0.0
    valid_loss = 0.0
    since = time.time()
    scheduler.step(i)

    model_test.train()
    for x, y in train_loader:
        opt.zero_grad()
        y_pred = model_test(x)
        lossT = calc_loss(y_pred, y)
        train_loss += lossT.item() * x.size(0)
        lossT.backward()
        opt.step()

    model_test.eval()
    torch.no_grad()
    for x1, y1 in valid_loader:
        y_pred1 = model_test(x1)
        lossL = calc_loss(y_pred1, y1)
        valid_loss += lossL.item() * x1.size(0)

    train_loss = train_loss / len(train_idx)
    valid_loss = valid_loss / len(valid_idx)
    print('Epoch: {}/{} \tTraining Loss: {:.6f} \tValidation Loss: {:.6f}'.format(i + 1, epoch, train_loss, valid_loss))
    if valid_loss <= valid_loss_min and epoch_valid >= i:
        print('Validation loss decreased ({:.6f} --> {:.6f}).  Saving model '.format(valid_loss_min, valid_loss))
        best_state = copy.deepcopy(model_test.state_dict())
        valid_loss_min = valid_loss
    print('{:.0f}m {:.0f}s'.format((time.time() - since) // 60, (time.time() - since) % 60))

model_test.load_state_dict(best_state)
model_test.eval()
with torch.no_grad():
    inter, total = 0.0, 0.0
    for j in valid_idx:
        x = Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])(ToTensor()(CenterCrop(48)(pairs[j][0])))
        truth = (np.asarray(CenterCrop(48)(pairs[j][1])) > 127).astype(np.float32)
        pred = (torch.sigmoid(model_test(x.unsqueeze(0)))[0, 0].numpy() > 0.5).astype(np.float32)
        inter += (pred * truth).sum()
        total += pred.sum() + truth.sum()
print('held-out dice on the 0/1 masks: {:.3f}'.format(2 * inter / max(total, 1.0)))
