# lossdoctor-expect: frozen_params
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Tony-Y/pytorch_warmup#12 (https://github.com/Tony-Y/pytorch_warmup/issues/12): "Why did my
learning rate drop from the initial lr". The poster runs, in every batch,
`loss.backward(); optimizer.zero_grad(); optimizer.step()` and then
`with warmup_scheduler.dampening(): lr_scheduler.step()`. The maintainer's answer: "Your code
does not optimize model parameters at all because optimizer.zero_grad() is called after
loss.backward()". Here the repository's EMNIST example (examples/emnist/main.py: the LeNet-style
Net with log_softmax, nll_loss, AdamW lr 0.01 wd 0.01, CosineAnnealingLR over all steps, an
untuned linear warmup, train()/test() per epoch, argparse defaults) with the poster's order of
calls, on synthetic 28x28 glyphs of the 47 balanced-EMNIST classes (a stroke prototype per class,
shifted and noisy; 60 training and 15 test images a class) for 4 epochs instead of 10. The
pytorch_warmup package is not a dependency here: UntunedLinearWarmup below is a small stand-in
with the library's dampening() context manager (warmup period 2 / (1 - beta2) steps). Cause: the
gradients are cleared before every step, so the weights are never moved by the loss (only
AdamW's weight decay shrinks them): parameters never trained (frozen_params). Fix: call
optimizer.zero_grad() before loss.backward()."""

import argparse
from contextlib import contextmanager

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


class UntunedLinearWarmup:
    """Stand-in for pytorch_warmup.UntunedLinearWarmup: the rate is multiplied by
    min(1, step / warmup_period), warmup_period = 2 / (1 - beta2)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        beta2 = optimizer.param_groups[0]["betas"][1]
        self.warmup_period = int(2.0 / (1.0 - beta2))
        self.last_step = 0
        self.lrs = [group["lr"] for group in optimizer.param_groups]
        self.dampen()

    def dampen(self):
        self.last_step += 1
        omega = min(1.0, self.last_step / self.warmup_period)
        for group in self.optimizer.param_groups:
            group["lr"] *= omega

    @contextmanager
    def dampening(self):
        for group, lr in zip(self.optimizer.param_groups, self.lrs):
            group["lr"] = lr
        yield
        self.lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.dampen()


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4*4*50, 500)
        self.fc2 = nn.Linear(500, 47)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2, 2)
        x = x.view(-1, 4*4*50)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def glyphs(per_class, generator):
    """47 classes of 28x28 glyphs: each class a few random strokes, shifted and noisy."""
    proto_gen = torch.Generator().manual_seed(47)
    prototypes = torch.zeros(47, 28, 28)
    for c in range(47):
        for _ in range(3):
            r0, c0 = torch.randint(6, 22, (2,), generator=proto_gen).tolist()
            dr, dc = torch.randint(-1, 2, (2,), generator=proto_gen).tolist()
            for t in range(9):
                rr, cc = min(max(r0 + dr * t, 2), 25), min(max(c0 + dc * t, 2), 25)
                prototypes[c, rr - 1:rr + 2, cc - 1:cc + 2] = 1.0
    labels = torch.arange(47).repeat_interleave(per_class)
    images = []
    for label in labels.tolist():
        shift = torch.randint(-2, 3, (2,), generator=generator).tolist()
        image = torch.roll(prototypes[label], shifts=shift, dims=(0, 1))
        images.append(image + 0.3 * torch.randn(28, 28, generator=generator))
    data = (torch.stack(images).unsqueeze(1) - 0.1751) / 0.3332
    return TensorDataset(data, labels)


def train(args, model, device, train_loader, optimizer, lr_scheduler,
          warmup_scheduler, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        lr = optimizer.param_groups[0]['lr']
        data, target = data.to(device), target.to(device)
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        with warmup_scheduler.dampening():
            lr_scheduler.step()
        if (batch_idx+1) % args.log_interval == 0:
            loss = loss.item()
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f} LR: {:.6f}'.format(
                epoch, (batch_idx+1) * len(data), len(train_loader) * len(data),
                100. * (batch_idx+1) / len(train_loader), loss, lr))


def test(args, model, device, test_loader, epoch):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    test_acc = 100. * correct / len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset), test_acc))


def main():
    parser = argparse.ArgumentParser(description='PyTorch EMNIST Example')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--test-batch-size', type=int, default=1000)
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--lr-min', type=float, default=1e-5)
    parser.add_argument('--wd', type=float, default=0.01)
    parser.add_argument('--beta2', type=float, default=0.999)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--log-interval', type=int, default=10)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(glyphs(60, generator), batch_size=args.batch_size,
                              shuffle=True, drop_last=True)
    test_loader = DataLoader(glyphs(15, generator), batch_size=args.test_batch_size,
                             shuffle=False)

    model = Net().to(device)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr,
                            betas=(0.9, args.beta2),
                            weight_decay=args.wd)
    num_steps = len(train_loader) * args.epochs
    lr_scheduler = optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=num_steps, eta_min=args.lr_min)
    warmup_scheduler = UntunedLinearWarmup(optimizer)

    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, lr_scheduler,
              warmup_scheduler, epoch)
        test(args, model, device, test_loader, epoch)


if __name__ == '__main__':
    main()
