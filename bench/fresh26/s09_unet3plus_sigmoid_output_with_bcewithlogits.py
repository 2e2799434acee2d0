# lossdoctor-expect: loss_mismatch
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905, SIM114, E731, SIM108  (the threads' own idioms kept)
"""avBuffer/UNet3plus_pth#23 (https://github.com/avBuffer/UNet3plus_pth/issues/23): "bceloss not
decrease". The repository's train.py trains UNet3Plus(n_channels=3, n_classes=1) with the criterion
it picks for n_classes == 1, RMSprop(lr, weight_decay=1e-8), a cosine LambdaLR stepped per epoch,
and eval_net() (the Dice of `pred > 0.5` on the validation split) ten times an epoch. Here
UNet3Plus as in unet/UNet3Plus.py with the filters shrunk from [64, 128, 256, 512, 1024] to [8, 16,
32, 64, 128], train_net() as written without apex amp (CPU), batch 2, learning rate 1e-3, on 240
synthetic 32x32 "portraits" (a coloured ellipse on a noisy background, the mask the ellipse)."""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim.lr_scheduler as lr_scheduler
from torch import optim
from torch.nn import init
from torch.utils.data import DataLoader, Dataset, random_split

torch.manual_seed(0)
np.random.seed(0)


def weights_init_kaiming(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
    elif classname.find('Linear') != -1:
        init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
    elif classname.find('BatchNorm') != -1:
        init.normal_(m.weight.data, 1.0, 0.02)
        init.constant_(m.bias.data, 0.0)


def init_weights(net, init_type='kaiming'):
    net.apply(weights_init_kaiming)


class unetConv2(nn.Module):
    def __init__(self, in_size, out_size, is_batchnorm, n=2, ks=3, stride=1, padding=1):
        super(unetConv2, self).__init__()
        self.n = n
        for i in range(1, n + 1):
            conv = nn.Sequential(nn.Conv2d(in_size, out_size, ks, stride, padding),
                                 nn.BatchNorm2d(out_size), nn.ReLU(inplace=True),)
            setattr(self, 'conv%d' % i, conv)
            in_size = out_size
        for m in self.children():
            init_weights(m, init_type='kaiming')

    def forward(self, inputs):
        x = inputs
        for i in range(1, self.n + 1):
            conv = getattr(self, 'conv%d' % i)
            x = conv(x)
        return x


class UNet3Plus(nn.Module):
    def __init__(self, n_channels=3, n_classes=1, bilinear=True, feature_scale=4,
                 is_deconv=True, is_batchnorm=True):
        super(UNet3Plus, self).__init__()
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.is_batchnorm = is_batchnorm
        filters = [8, 16, 32, 64, 128]

        ## -------------Encoder--------------
        self.conv1 = unetConv2(self.n_channels, filters[0], self.is_batchnorm)
        self.maxpool1 = nn.MaxPool2d(kernel_size=2)
        self.conv2 = unetConv2(filters[0], filters[1], self.is_batchnorm)
        self.maxpool2 = nn.MaxPool2d(kernel_size=2)
        self.conv3 = unetConv2(filters[1], filters[2], self.is_batchnorm)
        self.maxpool3 = nn.MaxPool2d(kernel_size=2)
        self.conv4 = unetConv2(filters[2], filters[3], self.is_batchnorm)
        self.maxpool4 = nn.MaxPool2d(kernel_size=2)
        self.conv5 = unetConv2(filters[3], filters[4], self.is_batchnorm)

        ## -------------Decoder--------------
        self.CatChannels = filters[0]
        self.CatBlocks = 5
        self.UpChannels = self.CatChannels * self.CatBlocks
        # stage d (4, 3, 2, 1): from each encoder level h1..h5 (or the decoder level above) one
        # branch: pooled (PT) from shallower levels, concatenated (Cat) at the same level,
        # upsampled (UT) from deeper levels; then conv{d}d_1, bn{d}d_1, relu{d}d_1 fuse the five
        for d in (4, 3, 2, 1):
            for src in (1, 2, 3, 4, 5):
                if src < d:
                    name, channels = 'h%d_PT_hd%d' % (src, d), filters[src - 1]
                    setattr(self, name, nn.MaxPool2d(2 ** (d - src), 2 ** (d - src), ceil_mode=True))
                elif src == d:
                    name, channels = 'h%d_Cat_hd%d' % (src, d), filters[src - 1]
                else:
                    name = 'hd%d_UT_hd%d' % (src, d)
                    channels = filters[4] if src == 5 else self.UpChannels
                    setattr(self, name, nn.Upsample(scale_factor=2 ** (src - d), mode='bilinear'))
                setattr(self, name + '_conv', nn.Conv2d(channels, self.CatChannels, 3, padding=1))
                setattr(self, name + '_bn', nn.BatchNorm2d(self.CatChannels))
                setattr(self, name + '_relu', nn.ReLU(inplace=True))
            setattr(self, 'conv%dd_1' % d, nn.Conv2d(self.UpChannels, self.UpChannels, 3, padding=1))
            setattr(self, 'bn%dd_1' % d, nn.BatchNorm2d(self.UpChannels))
            setattr(self, 'relu%dd_1' % d, nn.ReLU(inplace=True))

        # output
        self.outconv1 = nn.Conv2d(self.UpChannels, n_classes, 3, padding=1)

        # initialise weights
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init_weights(m, init_type='kaiming')
            elif isinstance(m, nn.BatchNorm2d):
                init_weights(m, init_type='kaiming')

    def _branch(self, name, x, resample=True):
        if resample:
            x = getattr(self, name)(x)
        return getattr(self, name + '_relu')(getattr(self, name + '_bn')(getattr(self, name + '_conv')(x)))

    def forward(self, inputs):
        ## -------------Encoder-------------
        h1 = self.conv1(inputs)
        h2 = self.conv2(self.maxpool1(h1))
        h3 = self.conv3(self.maxpool2(h2))
        h4 = self.conv4(self.maxpool3(h3))
        hd5 = self.conv5(self.maxpool4(h4))

        ## -------------Decoder-------------
        enc = {1: h1, 2: h2, 3: h3, 4: h4}
        dec = {5: hd5}
        for d in (4, 3, 2, 1):
            parts = []
            for src in (1, 2, 3, 4, 5):
                if src < d:
                    parts.append(self._branch('h%d_PT_hd%d' % (src, d), enc[src]))
                elif src == d:
                    parts.append(self._branch('h%d_Cat_hd%d' % (src, d), enc[src], resample=False))
                else:
                    parts.append(self._branch('hd%d_UT_hd%d' % (src, d), dec[src]))
            fused = getattr(self, 'conv%dd_1' % d)(torch.cat(parts, 1))
            dec[d] = getattr(self, 'relu%dd_1' % d)(getattr(self, 'bn%dd_1' % d)(fused))

        d1 = self.outconv1(dec[1])
        return F.sigmoid(d1)


class BasicDataset(Dataset):
    def __init__(self, n=240, size=32):
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:size, 0:size]
        self.items = []
        for _ in range(n):
            cx, cy = rng.uniform(10, 22, 2)
            ax, ay = rng.uniform(5, 10, 2)
            mask = (((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1).astype(np.float32)
            colour = rng.uniform(0.4, 1.0, 3)
            img = rng.normal(0.3, 0.15, (3, size, size)).astype(np.float32)
            img = img * (1 - mask) + mask * (colour[:, None, None] + rng.normal(0, 0.1, (3, size, size)))
            self.items.append((torch.from_numpy(img.astype(np.float32)), torch.from_numpy(mask[None])))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        img, mask = self.items[i]
        return {'image': img, 'mask': mask}


def dice_coeff(pred, target):
    eps = 0.0001
    inter = torch.dot(pred.view(-1), target.view(-1))
    union = torch.sum(pred) + torch.sum(target) + eps
    return (2 * inter.float() + eps) / union.float()


def eval_net(net, loader, device, n_val):
    """Evaluation without the densecrf with the dice coefficient"""
    net.eval()
    tot = 0
    for batch in loader:
        imgs = batch['image']
        true_masks = batch['mask']
        imgs = imgs.to(device=device, dtype=torch.float32)
        true_masks = true_masks.to(device=device, dtype=torch.float32)
        with torch.no_grad():
            mask_pred = net(imgs)
        for true_mask, pred in zip(true_masks, mask_pred):
            pred = (pred > 0.5).float()
            tot += dice_coeff(pred, true_mask.squeeze(dim=1)).item()
    net.train()
    return tot / n_val


def train_net(net, device, epochs=4, batch_size=2, lr=1e-3, val_percent=0.1):
    dataset = BasicDataset()
    n_val = int(len(dataset) * val_percent)
    n_train = len(dataset) - n_val
    train, val = random_split(dataset, [n_train, n_val])
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=0)
    val_loader = DataLoader(val, batch_size=batch_size, shuffle=False, num_workers=0)
    global_step = 0

    optimizer = optim.RMSprop(net.parameters(), lr=lr, weight_decay=1e-8)
    lf = lambda x: (((1 + math.cos(x * math.pi / epochs)) / 2) ** 1.0) * 0.95 + 0.05 #cosine
    scheduler = lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)

    if net.n_classes > 1:
        criterion = nn.CrossEntropyLoss()
    else:
        criterion = nn.BCEWithLogitsLoss()

    for epoch in range(epochs):
        net.train()
        epoch_loss = 0
        for batch in train_loader:
            imgs = batch['image']
            true_masks = batch['mask']
            imgs = imgs.to(device=device, dtype=torch.float32)
            mask_type = torch.float32 if net.n_classes == 1 else torch.long
            true_masks = true_masks.to(device=device, dtype=mask_type)

            masks_pred = net(imgs)
            loss = criterion(masks_pred, true_masks)
            epoch_loss += loss.item()

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            global_step += 1
            if global_step % (len(dataset) // (10 * batch_size)) == 0:
                val_score = eval_net(net, val_loader, device, n_val)
        print('epoch %d  lr %.2e  mean train loss %.4f  validation Dice %.3f' % (epoch + 1, optimizer.param_groups[0]['lr'], epoch_loss / len(train_loader), val_score))
        scheduler.step()


if __name__ == '__main__':
    device = torch.device('cpu')
    net = UNet3Plus(n_channels=3, n_classes=1)
    net.to(device=device)
    train_net(net=net, device=device)
