# lossdoctor-expect: train_eval_mode
# ruff: noqa: E501
"""A small U-Net (double 3x3 convolutions with BatchNorm, max-pool encoder, upsampling decoder
with skip connections, Dropout2d(0.5) after the bottleneck as the poster added) trained by a
trainer in the idiom of wolny/pytorch-3dunet's UNet3DTrainer
(https://github.com/wolny/pytorch-3dunet/issues/53): train() loops over the loader calling
_forward_pass and keeps a RunningAverage of the loss; validate() runs every epoch under
torch.no_grad() with the same _forward_pass. Binary segmentation of blobs in noisy 2-D images,
BCE-with-logits, Adam.
Bug (the issue): validate() never calls self.model.eval() (nor train() afterwards): the
validation forward passes run with dropout on and BatchNorm normalizing by each
validation image's own statistics (the validation batch size is 1, as in the repository's
configs), so the validation loss is noisy and higher than the
model's; "you need to add self.model.eval() before you run a forward pass of the validation
data ... changed back to self.model.train() when calculating loss for the training data"."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
SIZE = 32


def make(n):
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    centers = torch.randint(6, SIZE - 6, (n, 2, 2))
    radius = torch.randint(3, 7, (n, 2))
    masks = torch.zeros(n, 1, SIZE, SIZE)
    for k in range(2):
        d2 = (yy - centers[:, k, 0, None, None]) ** 2 + (xx - centers[:, k, 1, None, None]) ** 2
        masks[:, 0] = torch.maximum(masks[:, 0], (d2 <= radius[:, k, None, None] ** 2).float())
    return masks + 0.8 * torch.randn(n, 1, SIZE, SIZE), masks


x_train, y_train = make(400)
x_val, y_val = make(100)


def double_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, f=8):
        super().__init__()
        self.enc1, self.enc2 = double_conv(1, f), double_conv(f, 2 * f)
        self.bottleneck = double_conv(2 * f, 4 * f)
        self.dropout = nn.Dropout2d(0.5)
        self.dec2, self.dec1 = double_conv(6 * f, 2 * f), double_conv(3 * f, f)
        self.final = nn.Conv2d(f, 1, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.dropout(self.bottleneck(F.max_pool2d(e2, 2)))
        d2 = self.dec2(torch.cat([F.interpolate(b, scale_factor=2), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2), e1], 1))
        return self.final(d1)


class RunningAverage:
    def __init__(self):
        self.count, self.sum, self.avg = 0, 0.0, 0.0

    def update(self, value, n=1):
        self.count += n
        self.sum += value * n
        self.avg = self.sum / self.count


class UNetTrainer:
    def __init__(self, model, optimizer, loss_criterion, batch_size=4, val_batch_size=1,
                 max_num_epochs=8):
        self.model, self.optimizer, self.loss_criterion = model, optimizer, loss_criterion
        self.batch_size, self.val_batch_size = batch_size, val_batch_size
        self.max_num_epochs = max_num_epochs

    def fit(self):
        for epoch in range(self.max_num_epochs):
            train_loss = self.train()
            val_loss = self.validate()
            print(f"epoch {epoch}: training loss {train_loss:.4f} validation loss {val_loss:.4f}")

    def train(self):
        train_losses = RunningAverage()
        self.model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(perm), self.batch_size):
            idx = perm[i:i + self.batch_size]
            output, loss = self._forward_pass(x_train[idx], y_train[idx])
            train_losses.update(loss.item(), len(idx))
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return train_losses.avg

    def validate(self):
        val_losses = RunningAverage()
        with torch.no_grad():
            for i in range(0, len(x_val), self.val_batch_size):
                output, loss = self._forward_pass(x_val[i:i + self.val_batch_size],
                                                  y_val[i:i + self.val_batch_size])
                val_losses.update(loss.item(), self.val_batch_size)
        return val_losses.avg

    def _forward_pass(self, input, target):
        output = self.model(input)
        return output, self.loss_criterion(output, target)


model = UNet()
trainer = UNetTrainer(model, torch.optim.Adam(model.parameters(), lr=2e-3), nn.BCEWithLogitsLoss())
trainer.fit()
model.eval()
with torch.no_grad():
    print("validation loss in eval mode:", F.binary_cross_entropy_with_logits(model(x_val), y_val).item())
