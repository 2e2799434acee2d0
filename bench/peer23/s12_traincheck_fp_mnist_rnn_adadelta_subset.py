# lossdoctor-expect: lr_too_low, lr_schedule
"""A workload of TrainCheck's false-positive study (OrderLab/TrainCheck-Evaluation-Workloads,
fp_rate/workloads/mnist-rnn/main.py: pytorch/examples' MNIST LSTM classifier, Adadelta at 0.1 with
StepLR(gamma 0.7), trained on a 10-batch subset of MNIST and tested on a 10,000-image subset, its
default 14 epochs). MNIST is replaced by small synthetic 28x28 digits made here (no download)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR


def make_digits(n, seed, classes=10, size=28):
    """n grey images (uint8, like MNIST's) of `classes` stroke patterns, shifted and noisy."""
    rng = np.random.default_rng(1234)  # the same patterns for every split
    patterns = np.zeros((classes, size + 8, size + 8), dtype=np.float32)
    for c in range(classes):
        for _ in range(3):
            x0, y0, x1, y1 = rng.uniform(8, size, 4)
            for t in np.linspace(0, 1, 40):
                x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
                patterns[c, y - 1:y + 2, x - 1:x + 2] = 1.0
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = np.empty((n, size, size), dtype=np.uint8)
    for i, c in enumerate(labels):
        dx, dy = rng.integers(0, 9, 2)
        img = patterns[c, dy:dy + size, dx:dx + size] * rng.uniform(0.6, 1.0)
        img = img + rng.normal(0, 0.25, img.shape)
        images[i] = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return images, labels


class MNIST(torch.utils.data.Dataset):
    """Stands in for torchvision.datasets.MNIST with the transform given (ToTensor, Normalize)."""

    def __init__(self, root, train=True, download=False, transform=None, size=None):
        self.data, self.targets = make_digits(size, seed=1 if train else 2)
        self.transform = transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img = torch.tensor(self.data[index], dtype=torch.float32).unsqueeze(0) / 255.0
        return self.transform(img), int(self.targets[index])


def normalize(img):
    return (img - 0.1307) / 0.3081


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(64)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, input):
        # Shape of input is (batch_size,1, 28, 28)
        # converting shape of input to (batch_size, 28, 28)
        # as required by RNN when batch_first is set True
        input = input.reshape(-1, 28, 28)
        output, hidden = self.rnn(input)

        # RNN output shape is (seq_len, batch, input_size)
        # Get last output of RNN
        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                       100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(args, model, device, test_loader):
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
            if args.dry_run:
                break

    test_loss /= len(test_loader.dataset)

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))


def main():
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example using RNN')
    parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                        help='input batch size for training (default: 64)')
    parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                        help='input batch size for testing (default: 1000)')
    parser.add_argument('--epochs', type=int, default=14, metavar='N',
                        help='number of epochs to train (default: 14)')
    parser.add_argument('--lr', type=float, default=0.1, metavar='LR',
                        help='learning rate (default: 0.1)')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                        help='learning rate step gamma (default: 0.7)')
    parser.add_argument('--dry-run', action='store_true', default=False,
                        help='quickly check a single pass')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                        help='how many batches to wait before logging training status')
    args = parser.parse_args()

    device = torch.device("cpu")
    torch.manual_seed(args.seed)

    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(MNIST('../data', train=True, download=True, transform=normalize,
                                      size=10 * args.batch_size), range(10 * args.batch_size)),
        batch_size=args.batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(MNIST('../data', train=False, transform=normalize,
                                      size=10 * args.test_batch_size),
                                range(10 * args.test_batch_size)),
        batch_size=args.test_batch_size, shuffle=True)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test(args, model, device, test_loader)
        scheduler.step()


if __name__ == '__main__':
    main()
