# lossdoctor-expect: missing_zero_grad
# ruff: noqa: E501, E741, UP008, UP032, B007  (the threads' own idioms kept)
"""heartcored98/Standalone-DeepLearning#11 (https://github.com/heartcored98/Standalone-DeepLearning/issues/11):
the lecture's CIFAR-10 CNN lab (Lec5/Lab7_CIFAR-10_with_CNN.ipynb) trains with an argparse
namespace of hyperparameters, train()/validate()/test() functions and an experiment() driver;
train() calls optimizer.zero_grad() once at the top, before the mini-batch loop. The asker:
"shouldn't zero_grad() come before every loss.backward()?"; the author agreed and fixed the same
mistake in all the labs. Here synthetic 3x16x16 images of 10 classes (a class template plus
noise) instead of CIFAR-10, the lab's CNN (conv 3x3 + ReLU + max-pool blocks, then an MLP) at a
smaller width, the lab's RMSprop at its learning rate."""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

seed = 0
np.random.seed(seed)
torch.manual_seed(seed)


def make_split(n, templates, gen):
    labels = torch.randint(0, 10, (n,), generator=gen)
    images = templates[labels] + 3.0 * torch.randn(n, 3, 16, 16, generator=gen)
    return TensorDataset(images, labels)


gen = torch.Generator().manual_seed(seed)
templates = torch.nn.functional.interpolate(torch.randn(10, 3, 4, 4, generator=gen), size=16,
                                            mode="bilinear", align_corners=False)
partition = {"train": make_split(5000, templates, gen), "val": make_split(1000, templates, gen),
             "test": make_split(1000, templates, gen)}


class CNN(nn.Module):
    def __init__(self, model_code, in_channels, out_dim, act, use_bn):
        super(CNN, self).__init__()
        if act == "relu":
            self.act = nn.ReLU()
        elif act == "sigmoid":
            self.act = nn.Sigmoid()
        elif act == "tanh":
            self.act = nn.Tanh()
        else:
            raise ValueError("Not a valid activation function code")
        self.layers = self._make_layers(model_code, in_channels, use_bn)
        self.classifer = nn.Sequential(nn.Linear(64 * 2 * 2, 128), self.act, nn.Linear(128, out_dim))

    def forward(self, x):
        x = self.layers(x)
        x = x.view(x.size(0), -1)
        x = self.classifer(x)
        return x

    def _make_layers(self, model_code, in_channels, use_bn):
        layers = []
        for x in cfg[model_code]:
            if x == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(in_channels=in_channels, out_channels=x, kernel_size=3, stride=1, padding=1)]
                if use_bn:
                    layers += [nn.BatchNorm2d(x)]
                layers += [self.act]
                in_channels = x
        return nn.Sequential(*layers)


cfg = {"VGG11": [16, "M", 32, "M", 64, 64, "M"], "VGG13": [16, 16, "M", 32, 32, "M", 64, 64, "M"]}


def train(net, partition, optimizer, criterion, args):
    trainloader = DataLoader(partition["train"], batch_size=args.train_batch_size, shuffle=True)
    net.train()
    correct = 0
    total = 0
    train_loss = 0.0
    optimizer.zero_grad()
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        train_loss += loss.item()
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
    train_loss = train_loss / len(trainloader)
    train_acc = 100 * correct / total
    return net, train_loss, train_acc


def validate(net, partition, criterion, args):
    valloader = DataLoader(partition["val"], batch_size=args.test_batch_size, shuffle=False)
    net.eval()
    correct = 0
    total = 0
    val_loss = 0
    with torch.no_grad():
        for data in valloader:
            images, labels = data
            outputs = net(images)
            loss = criterion(outputs, labels)
            val_loss += loss.item()
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
        val_loss = val_loss / len(valloader)
        val_acc = 100 * correct / total
    return val_loss, val_acc


def experiment(partition, args):
    net = CNN(model_code=args.model_code, in_channels=args.in_channels, out_dim=args.out_dim,
              act=args.act, use_bn=args.use_bn)
    criterion = nn.CrossEntropyLoss()
    if args.optim == "SGD":
        optimizer = optim.SGD(net.parameters(), lr=args.lr, weight_decay=args.l2)
    elif args.optim == "RMSprop":
        optimizer = optim.RMSprop(net.parameters(), lr=args.lr, weight_decay=args.l2)
    elif args.optim == "Adam":
        optimizer = optim.Adam(net.parameters(), lr=args.lr, weight_decay=args.l2)
    else:
        raise ValueError("In-valid optimizer choice")
    for epoch in range(args.epoch):
        net, train_loss, train_acc = train(net, partition, optimizer, criterion, args)
        val_loss, val_acc = validate(net, partition, criterion, args)
        print("Epoch {}, Acc(train/val): {:2.2f}/{:2.2f}, Loss(train/val) {:2.2f}/{:2.2f}".format(
            epoch, train_acc, val_acc, train_loss, val_loss))


args = argparse.Namespace(model_code="VGG11", in_channels=3, out_dim=10, act="relu", use_bn=False,
                          l2=0.00001, optim="RMSprop", lr=0.0015, epoch=12,
                          train_batch_size=128, test_batch_size=256)
experiment(partition, args)
