# lossdoctor-expect: lr_too_low
# ruff: noqa: E501, E741, UP008, UP031, UP032, B007, B905  (the threads' own idioms kept)
"""Smadx/USTC-ML24-Fall#47 (https://github.com/Smadx/USTC-ML24-Fall/issues/47): "[lab1]
归一化之后第一部分loss不下降" (after normalizing, the first part's loss does not go down). Lab 1's
regression part (lab1/src/trainR.py) fits a LinearRegression to the SGEMM GPU performance table
(14 kernel parameters -> run time) with MSELoss and the lab's SGD with lr_decay 0.99 every 10
steps, defaults lr=2e-9, batch 4096; without normalization the poster's loss fell, slowly; after
standardizing the features it stopped falling. The TA's answer: "那应该是lr太小了" (then the
learning rate is too small): 2e-9 was chosen for raw features in the hundreds, and a unit-scale
input makes every step about ten thousand times smaller. The lab's code is numpy; here the same
trainR.py / TrainerR shape in torch (LinearRegression as an nn.Module, the lab's step decay as
StepLR(10, 0.99)), on a synthetic SGEMM-like table (the 14 parameters drawn from the dataset's
value sets, run time in ms a noisy function of them, 20000 rows split 80/20), features
standardized as the poster did, 30 epochs instead of 100, the test split scored every epoch.
Cause: the learning rate is far too small for standardized inputs (lr_too_low). Fix: raise it
(here --lr 1e-2 takes the test MSE from 60900 to 1250 in the same 30 epochs; 2e-9 leaves it at
60900)."""

import argparse

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split


class LinearRegression(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features) * 0.01)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return x @ self.weight + self.bias


def data_preprocessing_regression(n=20000, seed=123):
    """An SGEMM-like table: 14 kernel parameters from the dataset's value sets -> run time (ms).
    The features are standardized (the poster's change); the target is kept in ms."""
    rng = np.random.default_rng(seed)
    values = [[16, 32, 64, 128], [16, 32, 64, 128], [16, 32], [8, 16, 32], [8, 16, 32],
              [8, 16, 32], [8, 16, 32], [2, 8], [1, 2, 4, 8], [1, 2, 4, 8], [0, 1], [0, 1],
              [0, 1], [0, 1]]
    x = np.stack([rng.choice(v, n) for v in values], axis=1).astype(np.float32)
    coef = rng.normal(0, 1, 14).astype(np.float32)
    z = (x - x.mean(0)) / x.std(0)
    y = 217.0 + 120.0 * (z @ coef) / np.sqrt(14) + rng.normal(0, 25, n).astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)  # the poster's normalization
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y.astype(np.float32)).unsqueeze(1))


def data_split_regression(dataset, batch_size, shuffle):
    train_set, test_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
    return (DataLoader(train_set, batch_size=batch_size, shuffle=shuffle),
            DataLoader(test_set, batch_size=batch_size))


class TrainerR:
    def __init__(self, model, train_loader, test_loader, loss, optimizer, scheduler, config):
        self.model, self.train_loader, self.test_loader = model, train_loader, test_loader
        self.loss, self.optimizer, self.scheduler, self.config = loss, optimizer, scheduler, config

    def evaluate(self):
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in self.test_loader:
                total += self.loss(self.model(x), y).item() * len(x)
                count += len(x)
        self.model.train()
        return total / count

    def train(self):
        self.model.train()
        for epoch in range(self.config.epochs):
            for x, y in self.train_loader:
                self.optimizer.zero_grad()
                loss = self.loss(self.model(x), y)
                loss.backward()
                self.optimizer.step()
                self.scheduler.step()
            print(f"Epoch {epoch}: train loss {loss.item():.2f}, test loss {self.evaluate():.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch_size", type=int, default=4096)
    parser.add_argument("--shuffle", type=bool, default=True)
    parser.add_argument("--in_features", type=int, default=14)
    parser.add_argument("--out_features", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-9)
    parser.add_argument("--lr_decay", type=float, default=0.99)
    parser.add_argument("--decay_every", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=123)
    cfg = parser.parse_args()

    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    model = LinearRegression(cfg.in_features, cfg.out_features)
    dataset = data_preprocessing_regression(seed=cfg.seed)
    trainloader, testloader = data_split_regression(dataset, cfg.batch_size, cfg.shuffle)

    print("***** Running training *****")
    print(f"  Num examples = {len(trainloader.dataset)}")
    print(f"  Total optimization steps = {len(trainloader) * cfg.epochs}")
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.decay_every, gamma=cfg.lr_decay)
    TrainerR(model, trainloader, testloader, nn.MSELoss(), optimizer, scheduler, cfg).train()


if __name__ == "__main__":
    main()
